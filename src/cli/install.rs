//! `clanc install <machine> --target-host HOST`: installs NixOS on a machine with
//! nixos-anywhere, as `clan machines install` does. Missing vars are generated first; the
//! machine's age key and activation secrets are decrypted into a tree in a private temporary
//! directory (`<tmp>/root/var/lib/sops-nix/...`), handed to nixos-anywhere as
//! `--extra-files`, and removed when it ends, whatever the outcome (Ctrl-C included: clanc
//! waits for nixos-anywhere, then cleans up).

use std::io::IsTerminal;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::exec::{Install, find_on_path, nixos_anywhere_argv, run_nixos_anywhere};
use crate::vars::generate::Request;

use super::ssh_flags::SshFlags;
use super::{exit, terminal};

/// How to get nixos-anywhere, for the error when it is missing.
const GET_NIXOS_ANYWHERE: &str = "clanc install runs nixos-anywhere, which is not on PATH; \
     install it (`nix profile install nixpkgs#nixos-anywhere`) or run clanc inside \
     `nix shell nixpkgs#nixos-anywhere`";

/// clan's `--update-hardware-config` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HardwareConfig {
    None,
    NixosGenerateConfig,
    NixosFacter,
}

impl HardwareConfig {
    /// nixos-anywhere's name of the generator and where clan keeps its output.
    fn generate(self, clan: &Path, machine: &str) -> Option<(&'static str, PathBuf)> {
        let dir = clan.join("machines").join(machine);
        match self {
            HardwareConfig::None => None,
            HardwareConfig::NixosGenerateConfig => Some((
                "nixos-generate-config",
                dir.join("hardware-configuration.nix"),
            )),
            HardwareConfig::NixosFacter => Some(("nixos-facter", dir.join("facter.json"))),
        }
    }
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The machine to install
    pub machine: String,
    /// Where to install, `[user@]host[:port]` (default: the machine's deploy.targetHost)
    #[arg(long, value_name = "HOST")]
    pub target_host: Option<String>,
    /// The clan directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub flake: PathBuf,
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not reboot after the installation
    #[arg(long)]
    pub no_reboot: bool,
    /// Another kexec tarball to boot the installer from
    #[arg(long, value_name = "URL")]
    pub kexec: Option<String>,
    /// Build the system on the target
    #[arg(long)]
    pub build_on_remote: bool,
    /// nixos-anywhere's debug output
    #[arg(long)]
    pub debug: bool,
    /// Write the machine's hardware configuration into the clan
    #[arg(long, value_enum, default_value_t = HardwareConfig::None)]
    pub update_hardware_config: HardwareConfig,
    #[command(flatten)]
    pub ssh: SshFlags,
}

pub fn run(args: &InstallArgs) -> u8 {
    match install(args) {
        Ok(code) => code,
        Err((code, message)) => {
            eprintln!("error: {message}");
            code
        }
    }
}

fn install(args: &InstallArgs) -> Result<u8, (u8, String)> {
    let Some(tool) = find_on_path("nixos-anywhere", std::env::var_os("PATH").as_deref()) else {
        return Err((exit::USAGE, GET_NIXOS_ANYWHERE.to_string()));
    };
    let (root, clan) = super::vars::load_model(&args.flake)?;
    let machine = clan.machines.get(&args.machine).ok_or_else(|| {
        (
            exit::USAGE,
            format!("the clan has no machine `{}`", args.machine),
        )
    })?;
    let target = super::vars::target_of(machine, args.target_host.as_deref())?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err((
                exit::USAGE,
                "`clanc install` needs --yes when it cannot ask (no terminal)".to_string(),
            ));
        }
        let answer = terminal::ask(
            &format!(
                "Install {} to {target}? It erases the disks [y/N]",
                args.machine
            ),
            false,
            false,
        )
        .map_err(|e| (exit::USAGE, format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing done");
            return Ok(exit::USAGE);
        }
    }
    let request = Request {
        machines: vec![args.machine.clone()],
        generators: Vec::new(),
        regenerate: false,
    };
    super::vars::run_generate(&args.flake, &request, &[], &[], false)?;
    let files = super::vars::files_to_upload(&root, machine)?;

    // The tree lives in a private (0700) directory; only its `root/` is handed over, with
    // the modes a system root needs down to the secrets directory.
    let private = tempfile::Builder::new()
        .prefix("clanc-install-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| {
            (
                exit::USAGE,
                format!("cannot create a temporary directory: {e}"),
            )
        })?;
    let extra = private.path().join("root");
    if !files.is_empty() {
        let upload_dir = extra.join(crate::plan::step::SECRETS_UPLOAD_DIR.trim_start_matches('/'));
        let mut parents = std::fs::DirBuilder::new();
        parents.recursive(true).mode(0o755);
        parents
            .create(upload_dir.parent().unwrap_or(&extra))
            .and_then(|()| std::fs::DirBuilder::new().mode(0o700).create(&upload_dir))
            .and_then(|()| crate::vars::upload::write_tree(&upload_dir, &files))
            .map_err(|e| (exit::USAGE, format!("cannot prepare the secrets: {e}")))?;
    }
    drop(files);
    let flake = root.to_string_lossy();
    let ssh = args.ssh.options();
    let install = Install {
        flake: &flake,
        machine: &args.machine,
        target: &target,
        extra_files: extra.exists().then_some(extra.as_path()),
        no_reboot: args.no_reboot,
        kexec: args.kexec.as_deref(),
        build_on_remote: args.build_on_remote,
        debug: args.debug,
        hardware_config: args.update_hardware_config.generate(&root, &args.machine),
        ssh: &ssh,
    };
    let argv = nixos_anywhere_argv(&tool, &install);
    eprintln!(
        "installing `{}` on {target} with nixos-anywhere",
        args.machine
    );
    terminal::catch_interrupts();
    let result = run_nixos_anywhere(&argv);
    let removed = private.close();
    let code = result.map_err(|e| (exit::USAGE, e))?;
    if let Err(e) = removed {
        return Err((
            exit::USAGE,
            format!("cannot remove the temporary secrets directory: {e}"),
        ));
    }
    if terminal::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        return Err((130, "interrupted".to_string()));
    }
    match code {
        Some(0) => Ok(exit::OK),
        Some(code) => Err((
            exit::FOUND_ERRORS,
            format!("nixos-anywhere failed (exit status {code})"),
        )),
        None => Err((exit::FOUND_ERRORS, "nixos-anywhere was killed".to_string())),
    }
}
