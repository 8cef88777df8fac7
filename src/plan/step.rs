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
    Build,
    Copy,
    UploadSecrets,
    Activate,
    Confirm,
}

impl StepKind {
    pub const ALL: [StepKind; 6] = [
        StepKind::GenerateVars,
        StepKind::Build,
        StepKind::Copy,
        StepKind::UploadSecrets,
        StepKind::Activate,
        StepKind::Confirm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::GenerateVars => "generate-vars",
            StepKind::Build => "build",
            StepKind::Copy => "copy",
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
/// The system profile NixOS and nix-darwin boot from.
pub const SYSTEM_PROFILE: &str = "/nix/var/nix/profiles/system";
/// Where secrets are uploaded on the target (clan's sops store; sops-nix reads
/// `key.txt` there).
pub const SECRETS_UPLOAD_DIR: &str = "/var/lib/sops-nix";

pub fn step_id(kind: StepKind, machine: &str) -> String {
    format!("{}:{machine}", kind.as_str())
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `nix <subcommand> --extra-experimental-features 'nix-command flakes'`: Nix 2.8 and newer.
fn nix(subcommand: &str) -> Vec<String> {
    strings(&[
        "nix",
        subcommand,
        "--extra-experimental-features",
        "nix-command flakes",
    ])
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

/// `ssh-ng://user@host` for `nix copy --to` and `--store` (the port goes to `NIX_SSHOPTS`).
/// Nix runs `ssh user@host` from the URL without `--`, so this relies on
/// `parse_deploy_target` rejecting a user or host that starts with `-`.
pub fn ssh_ng_url(target: &DeployTarget) -> String {
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    match &target.user {
        Some(user) => format!("ssh-ng://{user}@{host}"),
        None => format!("ssh-ng://{host}"),
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

/// Builds the machine's system without a result link; the store path is read from `--json`
/// (Nix 2.8 has no `--print-out-paths`). With a build host, Nix builds there
/// (`--eval-store auto --store ssh-ng://<build host>`) and the result stays there.
/// `builders` (`--builders`) goes to nix as it is.
pub fn build_argv(
    flake: &str,
    class: MachineClass,
    machine: &str,
    build_host: Option<&DeployTarget>,
    builders: Option<&str>,
) -> Vec<String> {
    let mut argv = nix("build");
    argv.extend(strings(&["--no-link", "--json"]));
    if let Some(builders) = builders {
        argv.extend(strings(&["--builders", builders]));
    }
    if let Some(host) = build_host {
        argv.extend(strings(&[
            "--eval-store",
            "auto",
            "--store",
            &ssh_ng_url(host),
        ]));
    }
    argv.push(toplevel_installable(flake, class, machine));
    match build_host {
        Some(host) => with_ssh_port(host, argv),
        None => argv,
    }
}

/// Copies the built system to the target, letting the target substitute what it can.
pub fn copy_argv(target: &DeployTarget) -> Vec<String> {
    let mut argv = nix("copy");
    argv.extend(strings(&[
        "--to",
        &ssh_ng_url(target),
        "--substitute-on-destination",
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

/// The systemd unit activation runs in: unique per goal, machine and plan.
pub fn unit_name(goal: Goal, machine: &str, run_id: &str) -> String {
    format!("clanc-{}-{machine}-{run_id}", goal.as_str())
}

/// `nix-env -p <profile> --set {toplevel}` (`profile`: normally [`SYSTEM_PROFILE`]).
pub fn set_profile_argv(target: &DeployTarget, profile: &str) -> Vec<String> {
    privileged(
        target,
        strings(&["nix-env", "-p", profile, "--set", TOPLEVEL]),
    )
}

/// What activation runs on the target: for NixOS, the profile (for switch and boot), then
/// `switch-to-configuration <goal>` inside `systemd-run` so a dropped ssh connection does not
/// kill it; for nix-darwin, the profile, then `{toplevel}/activate`. None for goals that do
/// not activate, or that nix-darwin has no equivalent of.
pub fn activate_commands(
    class: MachineClass,
    goal: Goal,
    target: &DeployTarget,
    unit: &str,
    profile: &str,
) -> Option<Vec<Vec<String>>> {
    if !goal.activates() {
        return None;
    }
    let mut commands = Vec::new();
    if goal.sets_profile() {
        commands.push(set_profile_argv(target, profile));
    }
    match class {
        MachineClass::Nixos => {
            let switch = format!("{TOPLEVEL}/bin/switch-to-configuration");
            commands.push(privileged(
                target,
                strings(&[
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
                    "--",
                    &switch,
                    goal.as_str(),
                ]),
            ));
        }
        MachineClass::Darwin => {
            if goal != Goal::Switch {
                return None;
            }
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
/// the same quoter), with `{toplevel}` where the executor puts the built system's store path.
/// Each word is quoted as if that path were already in it: a store path is a bare word
/// (`/nix/store/<hash>-nixos-system-<host>-<version>`), so filling it in leaves the line as
/// shown.
pub fn shown_line(argv: &[String]) -> String {
    const STAND_IN: &str = "/nix/store/00000000000000000000000000000000-toplevel";
    argv.iter()
        .map(|word| {
            if word.contains(TOPLEVEL) {
                quote_word(&word.replace(TOPLEVEL, STAND_IN)).replace(STAND_IN, TOPLEVEL)
            } else {
                quote_word(word)
            }
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

    #[test]
    fn build_reads_the_path_from_json_not_print_out_paths() {
        let argv = build_argv("/srv/clan", MachineClass::Nixos, "web-1", None, None);
        assert_eq!(
            shown_line(&argv),
            "nix build --extra-experimental-features 'nix-command flakes' --no-link --json \
             '/srv/clan#nixosConfigurations.\"web-1\".config.system.build.toplevel'"
        );
        assert!(!argv.iter().any(|a| a == "--print-out-paths"));
        let darwin = build_argv("/c", MachineClass::Darwin, "mac", None, None);
        assert_eq!(
            darwin.last().unwrap(),
            "/c#darwinConfigurations.\"mac\".config.system.build.toplevel"
        );
    }

    #[test]
    fn build_on_a_build_host_uses_its_store() {
        let argv = build_argv(
            "/c",
            MachineClass::Nixos,
            "m",
            Some(&target("root@builder:2222")),
            Some("ssh://b1 x86_64-linux"),
        );
        let builders = argv.iter().position(|a| a == "--builders").unwrap();
        assert_eq!(argv[builders + 1], "ssh://b1 x86_64-linux");
        assert_eq!(&argv[..2], ["env", "NIX_SSHOPTS=-p 2222"]);
        let store = argv.iter().position(|a| a == "--store").unwrap();
        assert_eq!(argv[store + 1], "ssh-ng://root@builder");
        assert_eq!(argv[store - 2..store], ["--eval-store", "auto"]);
    }

    #[test]
    fn copy_goes_to_the_target_with_its_port() {
        assert_eq!(
            shown_line(&copy_argv(&target("root@h.example.org"))),
            "nix copy --extra-experimental-features 'nix-command flakes' --to \
             ssh-ng://root@h.example.org --substitute-on-destination {toplevel}"
        );
        let argv = copy_argv(&target("u@[2001:db8::1]:22"));
        assert_eq!(argv[1], "NIX_SSHOPTS=-p 22");
        assert!(argv.contains(&"ssh-ng://u@[2001:db8::1]".to_string()));
    }

    #[test]
    fn nixos_switch_sets_the_profile_then_switches_in_systemd_run() {
        let commands = activate_commands(
            MachineClass::Nixos,
            Goal::Switch,
            &target("root@h"),
            "u1",
            SYSTEM_PROFILE,
        )
        .unwrap();
        assert_eq!(
            shown_line(&commands[0]),
            "nix-env -p /nix/var/nix/profiles/system --set {toplevel}"
        );
        assert_eq!(
            shown_line(&commands[1]),
            "systemd-run --pipe --wait --quiet --collect --no-ask-password \
             '--service-type=exec' '--unit=u1' -E LOCALE_ARCHIVE -E \
             'NIXOS_INSTALL_BOOTLOADER=0' -- {toplevel}/bin/switch-to-configuration switch"
        );
    }

    #[test]
    fn goals_decide_profile_and_activation() {
        let t = target("admin@h");
        let test =
            activate_commands(MachineClass::Nixos, Goal::Test, &t, "u", SYSTEM_PROFILE).unwrap();
        assert_eq!(test.len(), 1, "test does not touch the profile");
        assert_eq!(&test[0][..2], ["sudo", "-n"]);
        assert_eq!(test[0].last().unwrap(), "test");
        let boot =
            activate_commands(MachineClass::Nixos, Goal::Boot, &t, "u", SYSTEM_PROFILE).unwrap();
        assert_eq!(boot.len(), 2);
        assert_eq!(boot[1].last().unwrap(), "boot");
        assert!(
            activate_commands(MachineClass::Nixos, Goal::Build, &t, "u", SYSTEM_PROFILE).is_none()
        );
        assert!(
            activate_commands(MachineClass::Nixos, Goal::Push, &t, "u", SYSTEM_PROFILE).is_none()
        );
        assert!(
            activate_commands(MachineClass::Darwin, Goal::Boot, &t, "u", SYSTEM_PROFILE).is_none()
        );
    }

    #[test]
    fn darwin_sets_the_profile_then_runs_activate() {
        let commands = activate_commands(
            MachineClass::Darwin,
            Goal::Switch,
            &target("crs58@mac"),
            "u",
            SYSTEM_PROFILE,
        )
        .unwrap();
        assert_eq!(
            commands,
            vec![
                strings(&[
                    "sudo",
                    "-n",
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
            unit_name(Goal::DryActivate, "web-1", "ab12"),
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
