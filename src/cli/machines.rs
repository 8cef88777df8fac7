//! `clanc machines update [MACHINES...]`: clan's deploy command as a thin alias of
//! `clanc apply`, so scripts written for clan work. It takes clan's flags (`--flake`,
//! `--tags`, `--target-host` for one machine, `--build-host` (`localhost`: here),
//! `--host-key-check`, `--upload-inputs`, `--specialisation`, `--no-check`), runs without
//! asking (as clan does) and forwards the ssh agent (clan's default), then runs exactly the
//! plan `clanc apply --yes --on MACHINES` would.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostics::ColorChoice;

use super::ssh_flags::SshFlags;
use super::{Cli, Command, exit};

#[derive(Debug, Subcommand)]
pub enum MachinesCommand {
    /// Deploy machines (all with a deploy.targetHost when none is named): `clanc apply`
    /// with clan's flags
    Update(UpdateArgs),
    /// Install NixOS with nixos-anywhere (erases the disks), secrets included
    Install(super::install::InstallArgs),
}

/// clan's `--host-key-check` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HostKeyCheck {
    /// Only hosts already in known_hosts
    Strict,
    /// clan asks; clanc runs ssh in batch mode and cannot, so it trusts a host on first use
    Ask,
    /// Trust a host on first use, then hold it to its key
    Tofu,
    /// No host key checking
    None,
}

impl HostKeyCheck {
    /// The ssh options of the mode.
    fn ssh_options(self) -> &'static [&'static str] {
        match self {
            HostKeyCheck::Strict => &["StrictHostKeyChecking=yes"],
            HostKeyCheck::Ask | HostKeyCheck::Tofu => &["StrictHostKeyChecking=accept-new"],
            HostKeyCheck::None => &["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"],
        }
    }
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Machines to update (default: every machine with a deploy.targetHost)
    #[arg(value_name = "MACHINE")]
    pub machines: Vec<String>,
    /// Only machines with all these tags
    #[arg(long, value_name = "TAG", num_args = 1..)]
    pub tags: Vec<String>,
    /// The clan directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub flake: PathBuf,
    /// Address of the machine to update, `user@host:1234` (one machine only)
    #[arg(long, value_name = "HOST")]
    pub target_host: Option<String>,
    /// Address of the machine to build on, `user@host:1234`; `localhost` builds here
    /// (default: deploy.buildHost, else the target)
    #[arg(long, value_name = "HOST")]
    pub build_host: Option<String>,
    /// Send the flake's locked inputs to the build host too, rather than letting it fetch
    /// them
    #[arg(long)]
    pub upload_inputs: bool,
    /// Activate this NixOS specialisation
    #[arg(long, value_name = "NAME")]
    pub specialisation: Option<String>,
    /// Switch past NixOS switch inhibitors (`NIXOS_NO_CHECK=1`)
    #[arg(long)]
    pub no_check: bool,
    /// Host key (known_hosts) check mode
    #[arg(long, value_enum, default_value_t = HostKeyCheck::Ask)]
    pub host_key_check: HostKeyCheck,
    /// (clanc) The profile activation sets, as `clanc apply --system-profile`
    #[arg(long, value_name = "PATH")]
    pub system_profile: Option<String>,
    #[command(flatten)]
    pub ssh: SshFlags,
}

pub fn run(command: &MachinesCommand, color: ColorChoice) -> u8 {
    match command {
        MachinesCommand::Update(args) => update(args, color),
        MachinesCommand::Install(args) => super::install::run(args),
    }
}

/// Characters that mean more than a name in an `--on` selector.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains([',', '*', '?', '[', ']', '@', '!', ' '])
}

/// The `clanc apply` command line `args` stand for, on `machines` (empty: every machine).
pub fn apply_argv(args: &UpdateArgs, machines: &[String]) -> Vec<String> {
    let mut argv: Vec<String> = vec!["clanc".into(), "apply".into(), "--yes".into()];
    if !machines.is_empty() {
        argv.push("--on".into());
        argv.push(machines.join(","));
    }
    for (flag, value) in [
        ("--target-host", &args.target_host),
        ("--build-host", &args.build_host),
        ("--system-profile", &args.system_profile),
        ("--specialisation", &args.specialisation),
    ] {
        if let Some(value) = value {
            argv.push(flag.into());
            argv.push(value.clone());
        }
    }
    for (flag, on) in [
        ("--upload-inputs", args.upload_inputs),
        ("--no-check", args.no_check),
    ] {
        if on {
            argv.push(flag.into());
        }
    }
    let mut options: Vec<String> = args
        .ssh
        .ssh_option
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // The user's own options come first: ssh keeps the first value of each.
    options.extend(
        args.host_key_check
            .ssh_options()
            .iter()
            .map(|o| o.to_string()),
    );
    options.push("ForwardAgent=yes".into());
    for option in options {
        argv.push("--ssh-option".into());
        argv.push(option);
    }
    if let Some(identity) = &args.ssh.identity {
        argv.push("-i".into());
        argv.push(identity.to_string_lossy().into_owned());
    }
    argv.push(args.flake.to_string_lossy().into_owned());
    argv
}

fn update(args: &UpdateArgs, color: ColorChoice) -> u8 {
    if let Some(bad) = args.machines.iter().find(|m| !plain_name(m)) {
        eprintln!("error: `{bad}` is not a machine name");
        return exit::USAGE;
    }
    if let Some(bad) = args.tags.iter().find(|t| !plain_name(t)) {
        eprintln!("error: `{bad}` is not a tag");
        return exit::USAGE;
    }
    let mut machines = args.machines.clone();
    let model = super::vars::load_model(&args.flake);
    // clan fails on a machine the clan does not have; the selector would only warn.
    if let Ok((_, clan)) = &model
        && let Some(missing) = args
            .machines
            .iter()
            .find(|m| !clan.machines.contains_key(m.as_str()))
    {
        eprintln!(
            "error: the clan has no machine `{missing}`; it has {}",
            clan.machines
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return exit::USAGE;
    }
    if !args.tags.is_empty() {
        let Ok((_, clan)) = &model else {
            eprintln!("error: --tags needs the clan's machines, which clanc cannot read here");
            return exit::USAGE;
        };
        // clan: machines with every tag; named machines must be among them
        let tagged: Vec<String> = crate::plan::select::machine_tags(clan)
            .into_iter()
            .filter(|(_, tags)| args.tags.iter().all(|t| tags.contains(t)))
            .map(|(name, _)| name.to_string())
            .collect();
        if tagged.is_empty() {
            eprintln!(
                "error: no machines found with tags: {}",
                args.tags.join(" AND ")
            );
            return exit::USAGE;
        }
        if let Some(untagged) = args.machines.iter().find(|m| !tagged.contains(m)) {
            eprintln!(
                "error: machine `{untagged}` does not have the tags {}",
                args.tags.join(" AND ")
            );
            return exit::USAGE;
        }
        if machines.is_empty() {
            machines = tagged;
        }
    }
    if args.target_host.is_some() && machines.len() != 1 {
        eprintln!("error: --target-host can only be set for one machine");
        return exit::USAGE;
    }
    match Cli::try_parse_from(apply_argv(args, &machines)) {
        Ok(Cli {
            command: Command::Apply(apply),
            ..
        }) => super::plan::run_apply(&apply, color),
        Ok(_) => exit::USAGE,
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> UpdateArgs {
        #[derive(Parser)]
        struct Wrapper {
            #[command(subcommand)]
            command: MachinesCommand,
        }
        let mut argv = vec!["machines"];
        argv.extend(words);
        match Wrapper::try_parse_from(argv).unwrap().command {
            MachinesCommand::Update(args) => args,
            MachinesCommand::Install(_) => panic!("not an update"),
        }
    }

    #[test]
    fn clan_flags_become_apply_flags() {
        let args = parse(&[
            "update",
            "web",
            "--target-host",
            "root@10.0.0.1:2222",
            "--build-host",
            "b@builder",
            "--host-key-check",
            "none",
            "--flake",
            "/srv/clan",
        ]);
        assert_eq!(
            apply_argv(&args, &args.machines).join(" "),
            "clanc apply --yes --on web --target-host root@10.0.0.1:2222 --build-host \
             b@builder --ssh-option StrictHostKeyChecking=no --ssh-option \
             UserKnownHostsFile=/dev/null --ssh-option ForwardAgent=yes /srv/clan"
        );
        let all = parse(&["update", "--ssh-option", "ForwardAgent=no", "-i", "/k"]);
        assert_eq!(
            apply_argv(&all, &all.machines).join(" "),
            "clanc apply --yes --ssh-option ForwardAgent=no --ssh-option \
             StrictHostKeyChecking=accept-new --ssh-option ForwardAgent=yes -i /k ."
        );
        assert!(plain_name("web-1") && !plain_name("web-*") && !plain_name("@tag"));
        let clan_flags = parse(&[
            "update",
            "--build-host",
            "localhost",
            "--upload-inputs",
            "--specialisation",
            "gaming",
            "--no-check",
            "--tags",
            "peer",
            "web",
        ]);
        assert_eq!(clan_flags.tags, ["peer", "web"]);
        assert_eq!(
            apply_argv(&clan_flags, &["m1".to_string(), "m2".to_string()]).join(" "),
            "clanc apply --yes --on m1,m2 --build-host localhost --specialisation gaming \
             --upload-inputs --no-check --ssh-option StrictHostKeyChecking=accept-new \
             --ssh-option ForwardAgent=yes ."
        );
    }
}
