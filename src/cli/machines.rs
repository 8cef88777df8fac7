//! `clanc machines update [MACHINES...]`: clan's deploy command as a thin alias of
//! `clanc apply`, so scripts written for clan work. It takes clan's flags (`--flake`,
//! `--target-host` for one machine, `--build-host`, `--host-key-check`), runs without asking
//! (as clan does) and forwards the ssh agent (clan's default), then runs exactly the plan
//! `clanc apply --yes --on MACHINES` would.

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
    /// The clan directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub flake: PathBuf,
    /// Address of the machine to update, `user@host:1234` (one machine only)
    #[arg(long, value_name = "HOST")]
    pub target_host: Option<String>,
    /// Address of the machine to build on, `user@host:1234`
    #[arg(long, value_name = "HOST")]
    pub build_host: Option<String>,
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

/// The `clanc apply` command line `args` stand for.
pub fn apply_argv(args: &UpdateArgs) -> Vec<String> {
    let mut argv: Vec<String> = vec!["clanc".into(), "apply".into(), "--yes".into()];
    if !args.machines.is_empty() {
        argv.push("--on".into());
        argv.push(args.machines.join(","));
    }
    for (flag, value) in [
        ("--target-host", &args.target_host),
        ("--build-host", &args.build_host),
        ("--system-profile", &args.system_profile),
    ] {
        if let Some(value) = value {
            argv.push(flag.into());
            argv.push(value.clone());
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
    if args.target_host.is_some() && args.machines.len() != 1 {
        eprintln!("error: --target-host can only be set for one machine");
        return exit::USAGE;
    }
    // clan fails on a machine the clan does not have; the selector would only warn.
    if let Ok((_, clan)) = super::vars::load_model(&args.flake)
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
    match Cli::try_parse_from(apply_argv(args)) {
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
            apply_argv(&args).join(" "),
            "clanc apply --yes --on web --target-host root@10.0.0.1:2222 --build-host \
             b@builder --ssh-option StrictHostKeyChecking=no --ssh-option \
             UserKnownHostsFile=/dev/null --ssh-option ForwardAgent=yes /srv/clan"
        );
        let all = parse(&["update", "--ssh-option", "ForwardAgent=no", "-i", "/k"]);
        assert_eq!(
            apply_argv(&all).join(" "),
            "clanc apply --yes --ssh-option ForwardAgent=no --ssh-option \
             StrictHostKeyChecking=accept-new --ssh-option ForwardAgent=yes -i /k ."
        );
        assert!(plain_name("web-1") && !plain_name("web-*") && !plain_name("@tag"));
    }
}
