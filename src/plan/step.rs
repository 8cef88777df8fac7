//! Plan steps: what one node of the plan does (its kind, machine, the host its commands run
//! on) and the exact commands, built by small pure functions so the plan shows precisely what
//! `clanc apply` will run. Remote hosts get the argv as it runs there; the executor wraps it
//! in ssh.

use std::fmt;

use crate::model::MachineClass;
use crate::model::deploy_target::{DeployTarget, parse_deploy_target};
use crate::shell::quote_word;

use super::select::Goal;

/// What a step does. The order of the variants is the order within one machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    GenerateVars,
    UploadSources,
    Build,
    Copy,
    /// `clanc plan --diff` only: the running system against the new one, on the target.
    Diff,
    UploadSecrets,
    Activate,
    Confirm,
}

impl StepKind {
    pub const ALL: [StepKind; 8] = [
        StepKind::GenerateVars,
        StepKind::UploadSources,
        StepKind::Build,
        StepKind::Copy,
        StepKind::Diff,
        StepKind::UploadSecrets,
        StepKind::Activate,
        StepKind::Confirm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::GenerateVars => "generate-vars",
            StepKind::UploadSources => "upload-sources",
            StepKind::Build => "build",
            StepKind::Copy => "copy",
            StepKind::Diff => "diff",
            StepKind::UploadSecrets => "upload-secrets",
            StepKind::Activate => "activate",
            StepKind::Confirm => "confirm",
        }
    }

    pub fn parse(text: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a step's commands run: on this machine, or over ssh on a deploy target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    Local,
    Remote(DeployTarget),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Local => f.write_str("local"),
            Host::Remote(target) => write!(f, "{target}"),
        }
    }
}

impl Host {
    /// `local`, or a deploy target (`grammar/target.ebnf`).
    pub fn parse(text: &str) -> Option<Host> {
        if text == "local" {
            return Some(Host::Local);
        }
        parse_deploy_target(text).ok().map(Host::Remote)
    }
}

/// One node of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// `<kind>:<machine>`; vars steps `generate-vars:<machine>/<generator>` or
    /// `generate-vars:shared/<generator>`.
    pub id: String,
    pub kind: StepKind,
    pub machine: Option<String>,
    pub host: Host,
    /// The commands, in order, each an argv (`{toplevel}` stands for the machine's built
    /// system, read from the build step's `--json` output).
    pub commands: Vec<Vec<String>>,
    /// Ids of the steps that must finish first.
    pub after: Vec<String>,
}

/// Placeholder for the store path the machine's build step produced.
pub const TOPLEVEL: &str = "{toplevel}";
/// Placeholder for the flake's source in the build host's store, as the upload-sources step
/// put it there (the `path` of `nix flake metadata --json` or `nix flake archive --json`).
pub const SOURCE: &str = "{source}";
/// The system profile NixOS and nix-darwin boot from.
pub const SYSTEM_PROFILE: &str = "/nix/var/nix/profiles/system";
/// Where secrets are uploaded on the target (clan's sops store; sops-nix reads
/// `key.txt` there).
pub const SECRETS_UPLOAD_DIR: &str = "/var/lib/sops-nix";
/// The options clan gives every `nix build` of a machine (`_nix_options_from_machine`):
/// traces, keep going past a failed derivation, the flake's own `nixConfig` (its caches),
/// build logs.
pub const NIX_BUILD_OPTIONS: [&str; 8] = [
    "--show-trace",
    "--option",
    "keep-going",
    "true",
    "--option",
    "accept-flake-config",
    "true",
    "-L",
];

pub fn step_id(kind: StepKind, machine: &str) -> String {
    format!("{}:{machine}", kind.as_str())
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `nix <subcommand...> --extra-experimental-features 'nix-command flakes'`: Nix 2.8 and newer.
fn nix(subcommand: &[&str]) -> Vec<String> {
    let mut argv = strings(&["nix"]);
    argv.extend(strings(subcommand));
    argv.extend(strings(&[
        "--extra-experimental-features",
        "nix-command flakes",
    ]));
    argv
}

/// The flake attribute of a machine's system: `nixosConfigurations."<m>"...` or
/// `darwinConfigurations."<m>"...`.
pub fn toplevel_installable(flake: &str, class: MachineClass, machine: &str) -> String {
    let outputs = match class {
        MachineClass::Nixos => "nixosConfigurations",
        MachineClass::Darwin => "darwinConfigurations",
    };
    let quoted = machine.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{flake}#{outputs}.\"{quoted}\".config.system.build.toplevel")
}

/// The store URL of `target` for `scheme` (`ssh-ng`, or `ssh` for `nix flake archive`; the
/// port goes to `NIX_SSHOPTS`). A nix-darwin host gets clan's `remote-program` through a
/// login shell (`bash -lc`): a plain ssh command on a Mac does not find nix. Nix runs
/// `ssh user@host` from the URL without `--`, so this relies on `parse_deploy_target`
/// rejecting a user or host that starts with `-`.
pub fn store_url(scheme: &str, target: &DeployTarget, class: MachineClass) -> String {
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let base = match &target.user {
        Some(user) => format!("{scheme}://{user}@{host}"),
        None => format!("{scheme}://{host}"),
    };
    match (class, scheme) {
        (MachineClass::Darwin, "ssh-ng") => {
            format!("{base}?remote-program=bash -lc 'exec nix-daemon --stdio'")
        }
        (MachineClass::Darwin, _) => {
            format!("{base}?remote-program=bash -lc 'exec nix-store --serve --write'")
        }
        (MachineClass::Nixos, _) => base,
    }
}

/// `env NIX_SSHOPTS='-p N -o Name=value'` in front of a nix command that talks to `target`
/// over ssh on a port other than the default (Nix 2.8's store URLs carry no port) or with the
/// target's own ssh options (`?ProxyJump=...`).
fn with_ssh_port(target: &DeployTarget, argv: Vec<String>) -> Vec<String> {
    let mut opts: Vec<String> = Vec::new();
    if let Some(port) = target.port {
        opts.extend(["-p".to_string(), port.to_string()]);
    }
    opts.extend(target.ssh_option_args());
    if opts.is_empty() {
        return argv;
    }
    let mut out = strings(&["env", &format!("NIX_SSHOPTS={}", opts.join(" "))]);
    out.extend(argv);
    out
}

/// Where a machine is built: here, or on a remote host (its deploy target, clan's default,
/// or a build host), as what user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildAt {
    Local,
    /// `on_target`: the host is the machine's own target, where clan builds as root.
    Remote {
        host: DeployTarget,
        on_target: bool,
    },
}

/// How the upload-sources step sends the flake to the build host: the flake's own source
/// (`nix copy`, the build host fetches the locked inputs itself), or the source with every
/// locked input (`nix flake archive`; clan's `--upload-inputs`, and what clan does when an
/// input is a local path the build host cannot fetch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceUpload {
    SourceOnly,
    WithInputs,
}

/// Puts the flake into the build host's store (clan's `upload_sources`); the executor reads
/// `{source}` from the `--json` output (`path`).
pub fn upload_sources_commands(
    flake: &str,
    host: &DeployTarget,
    class: MachineClass,
    upload: SourceUpload,
) -> Vec<Vec<String>> {
    match upload {
        SourceUpload::SourceOnly => {
            let mut metadata = nix(&["flake", "metadata"]);
            metadata.extend(strings(&["--json", flake]));
            let mut copy = nix(&["copy"]);
            copy.extend(strings(&[
                "--to",
                &store_url("ssh-ng", host, class),
                "--no-check-sigs",
                SOURCE,
            ]));
            vec![metadata, with_ssh_port(host, copy)]
        }
        SourceUpload::WithInputs => {
            // clan: `ssh://`, as `nix flake archive` has no `--no-check-sigs`
            let mut archive = nix(&["flake", "archive"]);
            archive.extend(strings(&[
                "--to",
                &store_url("ssh", host, class),
                "--json",
                flake,
            ]));
            vec![with_ssh_port(host, archive)]
        }
    }
}

/// A command a nix-darwin host runs through a login shell (`bash -lc`), where nix is on
/// `PATH` (clan reaches nix on a Mac the same way).
fn login_shell(class: MachineClass, argv: Vec<String>) -> Vec<String> {
    match class {
        MachineClass::Nixos => argv,
        MachineClass::Darwin => {
            let mut out = strings(&["bash", "-lc", "exec \"$@\"", "bash"]);
            out.extend(argv);
            out
        }
    }
}

/// Builds the machine's system without a result link; the store path is read from `--json`
/// (Nix 2.8 has no `--print-out-paths`). Here: from the clan's directory. On a remote host:
/// from `{source}` (the upload-sources step put it there), as root on the machine's own
/// target (clan becomes root there), with a login shell on a Mac. `builders` (`--builders`)
/// goes to nix as it is.
pub fn build_argv(
    flake: &str,
    class: MachineClass,
    machine: &str,
    at: &BuildAt,
    builders: Option<&str>,
) -> Vec<String> {
    let mut argv = nix(&["build"]);
    argv.extend(strings(&["--no-link", "--json"]));
    argv.extend(strings(&NIX_BUILD_OPTIONS));
    if let Some(builders) = builders {
        argv.extend(strings(&["--builders", builders]));
    }
    match at {
        BuildAt::Local => {
            argv.push(toplevel_installable(flake, class, machine));
            argv
        }
        BuildAt::Remote { host, on_target } => {
            argv.push(toplevel_installable(SOURCE, class, machine));
            let argv = login_shell(class, argv);
            if *on_target {
                privileged(host, argv)
            } else {
                argv
            }
        }
    }
}

/// Copies the built system to the target (clan's `_copy_closure`).
pub fn copy_argv(target: &DeployTarget, class: MachineClass) -> Vec<String> {
    let mut argv = nix(&["copy"]);
    argv.extend(strings(&[
        "--to",
        &store_url("ssh-ng", target, class),
        "--no-check-sigs",
        TOPLEVEL,
    ]));
    with_ssh_port(target, argv)
}

/// `sudo -n` when the target logs in as someone other than root.
fn privileged(target: &DeployTarget, argv: Vec<String>) -> Vec<String> {
    if target.user_or_root() == "root" {
        argv
    } else {
        let mut out = strings(&["sudo", "-n"]);
        out.extend(argv);
        out
    }
}

/// The systemd unit one `switch-to-configuration <action>` runs in: unique per action,
/// machine and plan.
pub fn unit_name(action: &str, machine: &str, run_id: &str) -> String {
    format!("clanc-{action}-{machine}-{run_id}")
}

/// `nix-env -p <profile> --set {toplevel}` (`profile`: normally [`SYSTEM_PROFILE`]).
pub fn set_profile_argv(target: &DeployTarget, class: MachineClass, profile: &str) -> Vec<String> {
    privileged(
        target,
        login_shell(
            class,
            strings(&["nix-env", "-p", profile, "--set", TOPLEVEL]),
        ),
    )
}

/// How NixOS activation runs, beyond the goal: clan's `--specialisation` and `--no-check`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activation {
    /// Activate `{toplevel}/specialisation/<name>` instead of the system itself.
    pub specialisation: Option<String>,
    /// `NIXOS_NO_CHECK=1`: switch past switch inhibitors.
    pub no_check: bool,
}

/// `switch-to-configuration <action>` inside `systemd-run`, as clan runs it (a dropped ssh
/// connection does not kill it; `--pipe` streams its output).
fn switch_argv(
    target: &DeployTarget,
    action: &str,
    unit: &str,
    activation: &Activation,
) -> Vec<String> {
    let system = match &activation.specialisation {
        Some(name) => format!("{TOPLEVEL}/specialisation/{name}"),
        None => TOPLEVEL.to_string(),
    };
    let mut argv = strings(&[
        "systemd-run",
        "--pipe",
        "--wait",
        "--quiet",
        "--collect",
        "--no-ask-password",
        "--service-type=exec",
        &format!("--unit={unit}"),
        "-E",
        "LOCALE_ARCHIVE",
        "-E",
        "NIXOS_INSTALL_BOOTLOADER=0",
    ]);
    if activation.no_check {
        argv.extend(strings(&["-E", "NIXOS_NO_CHECK=1"]));
    }
    argv.extend(strings(&[
        "--",
        &format!("{system}/bin/switch-to-configuration"),
        action,
    ]));
    privileged(target, argv)
}

/// What activation runs on the target. NixOS, as clan's `_nixos_activate`: the build must
/// look like a NixOS system (`nixos-version`), then the profile (switch, boot), then
/// `switch-to-configuration boot` (the bootloader has the new generation even if the live
/// switch fails), then `switch` (the last command: the activation agent retries it once and
/// recognises switch inhibitors, see `exec::rollback`); `test` and `dry-activate` run their
/// action alone. nix-darwin, as `darwin-rebuild switch` does after its build: the profile,
/// then `{toplevel}/activate`. `run_id` makes the unit names unique. None for goals that do
/// not activate, or that nix-darwin has no equivalent of.
pub fn activate_commands(
    class: MachineClass,
    goal: Goal,
    target: &DeployTarget,
    machine: &str,
    run_id: &str,
    profile: &str,
    activation: &Activation,
) -> Option<Vec<Vec<String>>> {
    if !goal.activates() {
        return None;
    }
    let mut commands = Vec::new();
    match class {
        MachineClass::Nixos => {
            commands.push(privileged(
                target,
                strings(&["test", "-e", &format!("{TOPLEVEL}/nixos-version")]),
            ));
            if goal.sets_profile() {
                commands.push(set_profile_argv(target, class, profile));
            }
            let mut actions = Vec::new();
            if goal == Goal::Switch {
                actions.push("boot");
            }
            actions.push(goal.as_str());
            for action in actions {
                let unit = unit_name(action, machine, run_id);
                commands.push(switch_argv(target, action, &unit, activation));
            }
        }
        MachineClass::Darwin => {
            if goal != Goal::Switch {
                return None;
            }
            commands.push(set_profile_argv(target, class, profile));
            commands.push(privileged(target, vec![format!("{TOPLEVEL}/activate")]));
        }
    }
    Some(commands)
}

/// A fresh ssh login (no connection sharing) that must succeed after activation.
pub fn confirm_argv(target: &DeployTarget) -> Vec<String> {
    let mut argv = strings(&[
        "ssh",
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-o",
        "BatchMode=yes",
    ]);
    if let Some(port) = target.port {
        argv.extend(strings(&["-p", &port.to_string()]));
    }
    argv.extend(target.ssh_option_args());
    // `--` ends ssh's options: the destination is never read as one (the target parser also
    // rejects a user or host starting with `-`).
    argv.push("--".to_string());
    argv.push(target.ssh_destination());
    argv.push("true".to_string());
    argv
}

/// `--flag value`, or `--flag=value` when the value starts with `-`: clap would read a
/// separate `-x` as another flag, while the `=` form keeps it the flag's value (a machine named
/// `-x` is M005, but the plan must still say what it means). The plain form otherwise keeps
/// the plan's lines free of quoting.
fn flag(name: &str, value: &str) -> Vec<String> {
    if value.starts_with('-') {
        vec![format!("{name}={value}")]
    } else {
        strings(&[name, value])
    }
}

/// Generates one generator's files for a machine (`clanc vars generate`).
pub fn generate_vars_argv(flake: &str, machine: &str, generator: &str) -> Vec<String> {
    let mut argv = strings(&["clanc", "vars", "generate", flake]);
    argv.extend(flag("--machine", machine));
    argv.extend(flag("--generator", generator));
    argv
}

/// Uploads the machine's age key and activation secrets into `upload_dir` (normally
/// [`SECRETS_UPLOAD_DIR`], then not spelled out) on the target; the executor adds the run's
/// ssh options.
pub fn upload_secrets_argv(
    flake: &str,
    machine: &str,
    target: &DeployTarget,
    upload_dir: &str,
) -> Vec<String> {
    let mut argv = strings(&["clanc", "vars", "upload", flake]);
    argv.extend(flag("--machine", machine));
    argv.extend(flag("--target-host", &target.to_string()));
    if upload_dir != SECRETS_UPLOAD_DIR {
        argv.extend(strings(&["--upload-dir", upload_dir]));
    }
    argv
}

/// An argv as the plan shows it: the line the executor runs (`crate::shell::command_line`,
/// the same quoter), with `{toplevel}` and `{source}` where the executor puts the built
/// system's and the uploaded flake's store paths (and, in a diff step, `{running}` and
/// `{new}` for the systems it read on the target). Each word is quoted as if those paths were
/// already in it: a store path is a bare word (`/nix/store/<hash>-<name>`), so filling it in
/// leaves the line as shown.
pub fn shown_line(argv: &[String]) -> String {
    const STAND_INS: [(&str, &str); 4] = [
        (
            TOPLEVEL,
            "/nix/store/00000000000000000000000000000000-toplevel",
        ),
        (SOURCE, "/nix/store/00000000000000000000000000000000-source"),
        (
            super::diff::RUNNING,
            "/nix/store/00000000000000000000000000000000-running",
        ),
        (
            super::diff::NEW,
            "/nix/store/00000000000000000000000000000000-new",
        ),
    ];
    argv.iter()
        .map(|word| {
            let mut filled = word.clone();
            for (placeholder, stand_in) in STAND_INS {
                filled = filled.replace(placeholder, stand_in);
            }
            let mut quoted = quote_word(&filled);
            for (placeholder, stand_in) in STAND_INS {
                quoted = quoted.replace(stand_in, placeholder);
            }
            quoted
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> DeployTarget {
        parse_deploy_target(text).unwrap()
    }

    fn activate(
        class: MachineClass,
        goal: Goal,
        t: &DeployTarget,
        activation: &Activation,
    ) -> Option<Vec<Vec<String>>> {
        activate_commands(class, goal, t, "m", "id", SYSTEM_PROFILE, activation)
    }

    #[test]
    fn a_local_build_reads_the_path_from_json_with_clans_options() {
        let argv = build_argv(
            "/srv/clan",
            MachineClass::Nixos,
            "web-1",
            &BuildAt::Local,
            None,
        );
        assert_eq!(
            shown_line(&argv),
            "nix build --extra-experimental-features 'nix-command flakes' --no-link --json \
             --show-trace --option keep-going true --option accept-flake-config true -L \
             '/srv/clan#nixosConfigurations.\"web-1\".config.system.build.toplevel'"
        );
        assert!(!argv.iter().any(|a| a == "--print-out-paths"));
        let darwin = build_argv("/c", MachineClass::Darwin, "mac", &BuildAt::Local, None);
        assert_eq!(
            darwin.last().unwrap(),
            "/c#darwinConfigurations.\"mac\".config.system.build.toplevel"
        );
    }

    #[test]
    fn a_remote_build_builds_the_uploaded_source_as_root_on_the_target() {
        let on_target = BuildAt::Remote {
            host: target("admin@web:2222"),
            on_target: true,
        };
        let argv = build_argv("/c", MachineClass::Nixos, "m", &on_target, Some("ssh://b1"));
        assert_eq!(&argv[..3], ["sudo", "-n", "nix"]);
        let builders = argv.iter().position(|a| a == "--builders").unwrap();
        assert_eq!(argv[builders + 1], "ssh://b1");
        assert_eq!(
            argv.last().unwrap(),
            "{source}#nixosConfigurations.\"m\".config.system.build.toplevel"
        );
        // a build host logs in as itself; a Mac gets a login shell (nix on PATH)
        let builder = BuildAt::Remote {
            host: target("b@builder"),
            on_target: false,
        };
        let argv = build_argv("/c", MachineClass::Darwin, "mac", &builder, None);
        assert_eq!(
            shown_line(&argv[..6]),
            "bash -lc 'exec \"$@\"' bash nix build"
        );
    }

    #[test]
    fn sources_go_up_alone_or_with_their_inputs() {
        let commands = upload_sources_commands(
            "/c",
            &target("root@h:2222"),
            MachineClass::Nixos,
            SourceUpload::SourceOnly,
        );
        assert_eq!(
            shown_line(&commands[0]),
            "nix flake metadata --extra-experimental-features 'nix-command flakes' --json /c"
        );
        assert_eq!(
            shown_line(&commands[1]),
            "env 'NIX_SSHOPTS=-p 2222' nix copy --extra-experimental-features 'nix-command flakes' \
             --to ssh-ng://root@h --no-check-sigs {source}"
        );
        let archive = upload_sources_commands(
            "/c",
            &target("u@mac"),
            MachineClass::Darwin,
            SourceUpload::WithInputs,
        );
        assert_eq!(
            archive,
            vec![strings(&[
                "nix",
                "flake",
                "archive",
                "--extra-experimental-features",
                "nix-command flakes",
                "--to",
                "ssh://u@mac?remote-program=bash -lc 'exec nix-store --serve --write'",
                "--json",
                "/c"
            ])]
        );
    }

    #[test]
    fn copy_goes_to_the_target_with_its_port() {
        assert_eq!(
            shown_line(&copy_argv(
                &target("root@h.example.org"),
                MachineClass::Nixos
            )),
            "nix copy --extra-experimental-features 'nix-command flakes' --to \
             ssh-ng://root@h.example.org --no-check-sigs {toplevel}"
        );
        let argv = copy_argv(&target("u@[2001:db8::1]:22"), MachineClass::Nixos);
        assert_eq!(argv[1], "NIX_SSHOPTS=-p 22");
        assert!(argv.contains(&"ssh-ng://u@[2001:db8::1]".to_string()));
    }

    #[test]
    fn nixos_switch_checks_sets_the_profile_then_boot_then_switch() {
        let commands = activate(
            MachineClass::Nixos,
            Goal::Switch,
            &target("root@h"),
            &Activation::default(),
        )
        .unwrap();
        let shown: Vec<String> = commands.iter().map(|c| shown_line(c)).collect();
        assert_eq!(
            shown,
            [
                "test -e {toplevel}/nixos-version",
                "nix-env -p /nix/var/nix/profiles/system --set {toplevel}",
                "systemd-run --pipe --wait --quiet --collect --no-ask-password \
                 '--service-type=exec' '--unit=clanc-boot-m-id' -E LOCALE_ARCHIVE -E \
                 'NIXOS_INSTALL_BOOTLOADER=0' -- {toplevel}/bin/switch-to-configuration boot",
                "systemd-run --pipe --wait --quiet --collect --no-ask-password \
                 '--service-type=exec' '--unit=clanc-switch-m-id' -E LOCALE_ARCHIVE -E \
                 'NIXOS_INSTALL_BOOTLOADER=0' -- {toplevel}/bin/switch-to-configuration switch",
            ]
        );
    }

    #[test]
    fn specialisation_and_no_check_reach_switch_to_configuration() {
        let activation = Activation {
            specialisation: Some("gaming".into()),
            no_check: true,
        };
        let commands = activate(
            MachineClass::Nixos,
            Goal::Switch,
            &target("root@h"),
            &activation,
        )
        .unwrap();
        let last = commands.last().unwrap();
        assert_eq!(
            last[last.len() - 2..],
            strings(&[
                "{toplevel}/specialisation/gaming/bin/switch-to-configuration",
                "switch"
            ])
        );
        let e = last.iter().position(|w| w == "NIXOS_NO_CHECK=1").unwrap();
        assert_eq!(last[e - 1], "-E");
    }

    #[test]
    fn goals_decide_profile_and_activation() {
        let t = target("admin@h");
        let none = Activation::default();
        let test = activate(MachineClass::Nixos, Goal::Test, &t, &none).unwrap();
        assert_eq!(test.len(), 2, "test does not touch the profile");
        assert_eq!(&test[1][..2], ["sudo", "-n"]);
        assert_eq!(test[1].last().unwrap(), "test");
        let boot = activate(MachineClass::Nixos, Goal::Boot, &t, &none).unwrap();
        assert_eq!(boot.len(), 3);
        assert_eq!(boot[2].last().unwrap(), "boot");
        assert!(activate(MachineClass::Nixos, Goal::Build, &t, &none).is_none());
        assert!(activate(MachineClass::Nixos, Goal::Push, &t, &none).is_none());
        assert!(activate(MachineClass::Darwin, Goal::Boot, &t, &none).is_none());
    }

    #[test]
    fn darwin_sets_the_profile_then_runs_activate() {
        let commands = activate(
            MachineClass::Darwin,
            Goal::Switch,
            &target("crs58@mac"),
            &Activation::default(),
        )
        .unwrap();
        assert_eq!(
            commands,
            vec![
                strings(&[
                    "sudo",
                    "-n",
                    "bash",
                    "-lc",
                    "exec \"$@\"",
                    "bash",
                    "nix-env",
                    "-p",
                    SYSTEM_PROFILE,
                    "--set",
                    TOPLEVEL
                ]),
                strings(&["sudo", "-n", "{toplevel}/activate"]),
            ]
        );
    }

    #[test]
    fn upload_names_its_directory_only_when_it_is_not_the_default() {
        let t = target("root@h:22");
        let argv = upload_secrets_argv("/c", "m", &t, SECRETS_UPLOAD_DIR);
        assert_eq!(
            shown_line(&argv),
            "clanc vars upload /c --machine m --target-host root@h:22"
        );
        let argv = upload_secrets_argv("/c", "m", &t, "/tmp/up/m");
        assert_eq!(argv[argv.len() - 2..], ["--upload-dir", "/tmp/up/m"]);
    }

    #[test]
    fn confirm_opens_a_fresh_connection() {
        assert_eq!(
            shown_line(&confirm_argv(&target("root@h:2222"))),
            "ssh -o 'ControlMaster=no' -o 'ControlPath=none' -o 'BatchMode=yes' -p 2222 -- root@h true"
        );
    }

    #[test]
    fn unit_names_and_ids() {
        assert_eq!(
            unit_name(Goal::DryActivate.as_str(), "web-1", "ab12"),
            "clanc-dry-activate-web-1-ab12"
        );
        assert_eq!(step_id(StepKind::UploadSecrets, "m"), "upload-secrets:m");
        for kind in StepKind::ALL {
            assert_eq!(StepKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Host::parse("local"), Some(Host::Local));
        assert_eq!(Host::parse("u@h:2").unwrap().to_string(), "u@h:2");
    }

    #[test]
    fn quoting_survives_hostile_words() {
        assert_eq!(quote_word("plain-word"), "plain-word");
        assert_eq!(quote_word(""), "''");
        assert_eq!(quote_word("a b;rm -rf /"), "'a b;rm -rf /'");
        assert_eq!(quote_word("it's"), "'it'\\''s'");
        // the plan shows `{toplevel}` where the executor puts a store path: quoted the same
        let path = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-nixos-system-web-1-25.05";
        for argv in [
            strings(&["nix-env", "--set", TOPLEVEL]),
            strings(&[
                "x",
                "--unit=u",
                "{toplevel}/bin/switch-to-configuration",
                "a b",
            ]),
            strings(&["env", "SYSTEM={toplevel}", "{a,b}"]),
        ] {
            let filled: Vec<String> = argv.iter().map(|w| w.replace(TOPLEVEL, path)).collect();
            assert_eq!(
                shown_line(&argv).replace(TOPLEVEL, path),
                crate::shell::command_line(&filled)
            );
        }
        assert_eq!(
            shown_line(&strings(&["env", "S={toplevel}", "{toplevel}"])),
            "env 'S={toplevel}' {toplevel}"
        );
        assert_eq!(
            generate_vars_argv("/c", "m", "g"),
            strings(&[
                "clanc",
                "vars",
                "generate",
                "/c",
                "--machine",
                "m",
                "--generator",
                "g"
            ])
        );
        // A name starting with `-` stays the flag's value.
        assert_eq!(
            generate_vars_argv("/c", "-x", "-g")[4..],
            strings(&["--machine=-x", "--generator=-g"])
        );
    }
}
