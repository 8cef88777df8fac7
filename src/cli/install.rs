//! `clanc machines install <machine>` (and its alias `clanc install`): installs NixOS on a
//! machine with nixos-anywhere as clan's `clan machines install` does (clan-core
//! `clan_cli/machines/install.py`, `clan_lib/machines/install.py`), with clan's flags.
//!
//! Missing vars are generated first. Secrets are decrypted into a private (0700) temporary
//! directory only, removed when nixos-anywhere ends whatever the outcome (Ctrl-C included:
//! clanc waits for nixos-anywhere, then cleans up), and never printed:
//! - `<tmp>/activation_secrets/var/lib/sops-nix/{key.txt,activation/...}`, the machine's age
//!   key and its `neededFor = "activation"` secrets, handed over as `--extra-files`;
//! - `<tmp>/partitioning_secrets/<rel_dir>/<file>`, each `neededFor = "partitioning"` file,
//!   handed over as `--disk-encryption-keys /run/partitioning-secrets/<rel_dir>/<file> <it>`.
//!
//! nixos-anywhere runs once per phase; with `--update-hardware-config` it writes the report to
//! `machines/<m>/facter.json` or `machines/<m>/hardware-configuration.nix`, which is then
//! committed (in a git clan), and `machines.<m>.installedAt` is written to inventory.json
//! (unless `--no-persist-state`), as clan does.

use std::io::IsTerminal;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::exec::vars_generate::Request;
use crate::exec::{
    Install, PARTITIONING_SECRETS_DIR, commit_file, find_on_path, nixos_anywhere_argv,
    nixos_anywhere_key, phases_to_run, run_nixos_anywhere, user_config_dir,
};
use crate::model::deploy_target::DeployTarget;
use crate::model::vars::generator::NeededFor;
use crate::model::{Known, Machine, MachineClass};
use crate::vars::store::{StoredKind, VarsTree};
use crate::vars::upload::{UploadFile, var_rel_path, write_tree};

use super::machines::HostKeyCheck;
use super::ssh_flags::parse_ssh_option;
use super::{exit, terminal};

/// How to get nixos-anywhere, for the error when it is missing.
const GET_NIXOS_ANYWHERE: &str = "clanc machines install runs nixos-anywhere, which is not on \
     PATH; install it (`nix profile install nixpkgs#nixos-anywhere`) or run clanc inside \
     `nix shell nixpkgs#nixos-anywhere`";

/// clan's warning before an install.
const INSTALL_WARNING: &str = "WARNING: This will PERMANENTLY ERASE ALL DATA on the target \
     host. All disks will be wiped, repartitioned, and reformatted. If you want to update an \
     existing installation, use 'clanc machines update' instead.";

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

/// clan's `--build-on` choices (nixos-anywhere's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BuildOn {
    Auto,
    Local,
    Remote,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The machine to install
    pub machine: String,
    /// Where to install, `[user@]host[:port]` (default: the machine's target host)
    #[arg(long, value_name = "HOST")]
    pub target_host: Option<String>,
    /// The clan directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub flake: PathBuf,
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not reboot after the installation (clanc leaves out the `reboot` phase)
    #[arg(long)]
    pub no_reboot: bool,
    /// Another kexec tarball to boot the installer from
    #[arg(long, value_name = "URL")]
    pub kexec: Option<String>,
    /// Comma separated phases to run (default: kexec,disko,install,reboot)
    #[arg(long, value_name = "PHASES")]
    pub phases: Option<String>,
    /// Where to build the NixOS configuration (nixos-anywhere's default: auto)
    #[arg(long, value_enum)]
    pub build_on: Option<BuildOn>,
    /// Same as `--build-on remote` (clanc's earlier flag)
    #[arg(long, hide = true, conflicts_with = "build_on")]
    pub build_on_remote: bool,
    /// Accepted for clan's command line; nixos-anywhere checks no host keys (clan does not
    /// pass the mode either)
    #[arg(long, value_enum, default_value_t = HostKeyCheck::Ask)]
    pub host_key_check: HostKeyCheck,
    /// Write the machine's hardware report into machines/<machine>/
    #[arg(long, value_enum, default_value_t = HardwareConfig::None)]
    pub update_hardware_config: HardwareConfig,
    /// Do not record the install time (`installedAt`) in inventory.json
    #[arg(long)]
    pub no_persist_state: bool,
    /// The ssh password of the installer (handed to nixos-anywhere in SSHPASS)
    #[arg(long, value_name = "PASSWORD", conflicts_with = "identity")]
    pub password: Option<String>,
    /// The ssh private key to log in with
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// An ssh option for nixos-anywhere (repeatable), like `ConnectTimeout=10`
    #[arg(long = "ssh-option", value_name = "KEY=VALUE", value_parser = parse_ssh_option)]
    pub ssh_option: Vec<(String, String)>,
    /// nixos-anywhere's debug output
    #[arg(long)]
    pub debug: bool,
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

/// A machine name that can be neither a path leaving `machines/` nor a flag: a letter, digit
/// or `_` first, then letters, digits, `_`, `-` and `.`.
fn valid_machine_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.len() <= 253
}

/// Asks `question` until the answer is one of `yes` or `no`; `default` for an empty one.
fn ask_yes_no(question: &str, default: bool) -> Result<bool, (u8, String)> {
    loop {
        let answer = terminal::ask(question, false, false)
            .map_err(|e| (exit::USAGE, format!("cannot read the answer: {e}")))?;
        match answer.trim().to_lowercase().as_str() {
            "" => return Ok(default),
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            other => eprintln!("Invalid input '{other}'. Please enter 'y' for yes or 'n' for no."),
        }
    }
}

/// clan's choice of hardware report: the flag when given; otherwise, at a terminal without
/// `--yes`, it offers nixos-facter when the machine has no report, or to refresh an existing
/// facter.json.
fn hardware_config(args: &InstallArgs, root: &Path) -> Result<HardwareConfig, (u8, String)> {
    if args.update_hardware_config != HardwareConfig::None
        || args.yes
        || !std::io::stdin().is_terminal()
    {
        return Ok(args.update_hardware_config);
    }
    let dir = root.join("machines").join(&args.machine);
    let facter = dir.join("facter.json").exists();
    let question = if !facter && !dir.join("hardware-configuration.nix").exists() {
        format!(
            "Hardware configuration not found for '{}'. Generate it using nixos-facter? [Y/n]",
            args.machine
        )
    } else if facter {
        format!(
            "Update existing hardware configuration (facter.json) for '{}'? [y/N]",
            args.machine
        )
    } else {
        return Ok(HardwareConfig::None);
    };
    Ok(if ask_yes_no(&question, !facter)? {
        HardwareConfig::NixosFacter
    } else {
        HardwareConfig::None
    })
}

/// The machine's files with `neededFor = "partitioning"`, decrypted (secret) or read
/// (public) as clan's `populate_dir` does, at `<rel_dir>/<file>`. A file whose `neededFor`
/// clanc cannot know is named in a warning.
fn partitioning_files(root: &Path, machine: &Machine) -> Result<Vec<UploadFile>, (u8, String)> {
    let mut wanted = Vec::new();
    for (name, generator) in &machine.generators {
        for (file_name, file) in &generator.files {
            match &file.needed_for.value {
                Known::Known(n) if NeededFor::parse(n) == Some(NeededFor::Partitioning) => {
                    wanted.push((name, generator, file_name, file));
                }
                Known::Known(_) => {}
                Known::Unknown(why) => eprintln!(
                    "warning: whether `{name}/{file_name}` is needed for partitioning is unknown \
                     ({why}); it is not passed to nixos-anywhere"
                ),
            }
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let tree =
        VarsTree::read(root).map_err(|e| (exit::USAGE, format!("cannot read vars/: {e}")))?;
    let identities = super::vars::admin_identities()?;
    let mut files = Vec::new();
    for (name, generator, file_name, file) in wanted {
        let var = format!("{name}/{file_name}");
        let stored = match generator.share {
            Known::Known(true) => tree.shared.get(name),
            _ => tree
                .per_machine
                .get(&machine.name)
                .and_then(|g| g.get(name)),
        }
        .and_then(|g| g.files.get(file_name));
        let content = match stored.map(|s| (&s.kind, s)) {
            Some((StoredKind::Secret(_), s)) => {
                let text = std::fs::read_to_string(s.dir.join("secret"))
                    .map_err(|e| (exit::USAGE, format!("cannot read `{var}`: {e}")))?;
                crate::vars::sops::decrypt(&text, &identities).map_err(|e| {
                    (
                        exit::FOUND_ERRORS,
                        format!("cannot decrypt `{var}` of `{}`: {e}", machine.name),
                    )
                })?
            }
            Some((StoredKind::Public, s)) => zeroize::Zeroizing::new(
                std::fs::read(s.dir.join("value"))
                    .map_err(|e| (exit::USAGE, format!("cannot read `{var}`: {e}")))?,
            ),
            _ => {
                return Err((
                    exit::FOUND_ERRORS,
                    format!(
                        "the partitioning secret `{var}` of `{}` has not been generated",
                        machine.name
                    ),
                ));
            }
        };
        let mode = match &file.mode.value {
            Known::Known(m) => u32::from_str_radix(m, 8).map_err(|_| {
                (
                    exit::FOUND_ERRORS,
                    format!("the mode of `{var}` is not octal: \"{m}\""),
                )
            })?,
            Known::Unknown(_) => 0o400,
        };
        files.push(UploadFile {
            path: var_rel_path(generator, &machine.name, name, file_name)
                .map_err(|e| (exit::FOUND_ERRORS, e.to_string()))?,
            mode,
            content,
        });
    }
    Ok(files)
}

fn install(args: &InstallArgs) -> Result<u8, (u8, String)> {
    if !valid_machine_name(&args.machine) {
        return Err((
            exit::USAGE,
            format!(
                "`{}` is not a machine name (letters, digits, `_`, `-`, `.`; a letter, digit or \
                 `_` first)",
                args.machine
            ),
        ));
    }
    let phases =
        phases_to_run(args.phases.as_deref(), args.no_reboot).map_err(|e| (exit::USAGE, e))?;
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
    if machine.class.value == Known::Known(MachineClass::Darwin) {
        return Err((
            exit::USAGE,
            "Installing macOS machines is not yet supported".to_string(),
        ));
    }
    let target = super::vars::target_of(machine, args.target_host.as_deref())?;
    let hardware = hardware_config(args, &root)?;

    eprintln!("{INSTALL_WARNING}");
    if !args.yes && !confirmed(args, &target)? {
        eprintln!("nothing done");
        return Ok(exit::OK);
    }

    let request = Request {
        machines: vec![args.machine.clone()],
        generators: Vec::new(),
        regenerate: false,
    };
    super::vars::run_generate(&args.flake, &request, &[], &[], false)?;
    // The generators may have written the age key and vars: read them again.
    let activation = super::vars::files_to_upload(&root, machine)?;
    let partitioning = partitioning_files(&root, machine)?;
    let secrets = write_secrets(activation, partitioning)?;

    let config = user_config_dir(|name| std::env::var(name).ok()).ok_or_else(|| {
        (
            exit::USAGE,
            "neither XDG_CONFIG_HOME nor HOME is set: no place for the nixos-anywhere key"
                .to_string(),
        )
    })?;
    let anywhere_key = nixos_anywhere_key(&config).map_err(|e| (exit::USAGE, e))?;
    let flake = root.to_string_lossy();
    let hardware_config = hardware.generate(&root, &args.machine);
    let install = Install {
        flake: &flake,
        machine: &args.machine,
        target: &target,
        extra_files: &secrets.extra_files,
        disk_encryption_keys: &secrets.disk_keys,
        no_reboot: args.no_reboot,
        phases: args.phases.as_deref().filter(|p| !p.is_empty()),
        hardware_config: hardware_config.clone(),
        password: args.password.is_some(),
        anywhere_key: &anywhere_key,
        identity: args.identity.as_deref(),
        build_on: build_on(args),
        kexec: args.kexec.as_deref(),
        debug: args.debug,
        ssh_options: &args.ssh_option,
    };
    let argv = nixos_anywhere_argv(&tool, &install);
    eprintln!(
        "installing `{}` on {}@{} with nixos-anywhere, phases {}",
        args.machine,
        target.user_or_root(),
        target.host,
        phases.join(", ")
    );
    terminal::catch_interrupts();
    let failure = run_phases(&argv, &phases, args.password.as_deref());
    let removed = secrets.dir.close();
    if interrupted() {
        return Err((130, "interrupted".to_string()));
    }
    if let Some(message) = failure {
        return Err((exit::FOUND_ERRORS, message));
    }
    if let Err(e) = removed {
        return Err((
            exit::USAGE,
            format!("cannot remove the temporary secrets directory: {e}"),
        ));
    }

    if let Some((_, file)) = &hardware_config
        && file.exists()
    {
        commit_hardware_report(&root, &args.machine, file)?;
    }
    if !args.no_persist_state {
        record_install_time(&root, &args.machine)?;
    }
    eprintln!("installed `{}`", args.machine);
    Ok(exit::OK)
}

/// Asks whether to install (needs a terminal: `--yes` without one).
fn confirmed(args: &InstallArgs, target: &DeployTarget) -> Result<bool, (u8, String)> {
    if !std::io::stdin().is_terminal() {
        return Err((
            exit::USAGE,
            "`clanc machines install` needs --yes when it cannot ask (no terminal)".to_string(),
        ));
    }
    let question = format!(
        "Install {} to {}@{}? [y/N]",
        args.machine,
        target.user_or_root(),
        target.host
    );
    ask_yes_no(&question, false)
}

/// The secrets handed to nixos-anywhere, in a private (0700) temporary directory that is
/// removed when `dir` is closed or dropped.
struct InstallSecrets {
    dir: tempfile::TempDir,
    /// `--extra-files`: a system root with the activation secrets.
    extra_files: PathBuf,
    /// `--disk-encryption-keys`: each partitioning secret's path on the target, and here.
    disk_keys: Vec<(String, PathBuf)>,
}

/// Writes the activation and partitioning secrets into a new [`InstallSecrets`]; the
/// plaintexts in memory are dropped (zeroized) once written.
fn write_secrets(
    activation: Vec<UploadFile>,
    partitioning: Vec<UploadFile>,
) -> Result<InstallSecrets, (u8, String)> {
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
    // The extra files are a system root: 0755 down to the secrets directory, which is 0700.
    let extra = private.path().join("activation_secrets");
    let upload_dir = extra.join(crate::plan::step::SECRETS_UPLOAD_DIR.trim_start_matches('/'));
    let partitioning_dir = private.path().join("partitioning_secrets");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(upload_dir.parent().unwrap_or(&extra))
        .and_then(|()| std::fs::DirBuilder::new().mode(0o700).create(&upload_dir))
        .and_then(|()| write_tree(&upload_dir, &activation))
        .and_then(|()| {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&partitioning_dir)
        })
        .and_then(|()| write_tree(&partitioning_dir, &partitioning))
        .map_err(|e| (exit::USAGE, format!("cannot prepare the secrets: {e}")))?;
    let disk_keys: Vec<(String, PathBuf)> = partitioning
        .iter()
        .map(|f| {
            (
                format!("{PARTITIONING_SECRETS_DIR}/{}", f.path.display()),
                partitioning_dir.join(&f.path),
            )
        })
        .collect();
    drop(activation);
    drop(partitioning);
    Ok(InstallSecrets {
        dir: private,
        extra_files: extra,
        disk_keys,
    })
}

/// nixos-anywhere's `--build-on`, from `--build-on` or the older `--build-on-remote`.
fn build_on(args: &InstallArgs) -> Option<&'static str> {
    match (args.build_on, args.build_on_remote) {
        (Some(BuildOn::Auto), _) => Some("auto"),
        (Some(BuildOn::Local), _) => Some("local"),
        (Some(BuildOn::Remote), _) | (None, true) => Some("remote"),
        (None, false) => None,
    }
}

/// Whether Ctrl-C came (after [`terminal::catch_interrupts`]).
fn interrupted() -> bool {
    terminal::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Runs nixos-anywhere once per phase, until one fails or Ctrl-C comes; why it failed.
fn run_phases(argv: &[String], phases: &[String], password: Option<&str>) -> Option<String> {
    for phase in phases {
        if interrupted() {
            break;
        }
        eprintln!("nixos-anywhere: phase {phase}");
        match run_nixos_anywhere(argv, phase, password) {
            Ok(Some(0)) => {}
            Ok(Some(code)) => {
                return Some(format!(
                    "nixos-anywhere failed in phase {phase} (exit status {code})"
                ));
            }
            Ok(None) => return Some(format!("nixos-anywhere was killed in phase {phase}")),
            Err(e) => return Some(e),
        }
    }
    None
}

/// Commits the hardware report nixos-anywhere wrote (in a git clan).
fn commit_hardware_report(root: &Path, machine: &str, file: &Path) -> Result<(), (u8, String)> {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    commit_file(
        root,
        file,
        &format!("machines/{machine}/{name}: update hardware configuration"),
    )
    .map_err(|e| (exit::FOUND_ERRORS, e))?;
    eprintln!("hardware report: {}", file.display());
    Ok(())
}

/// Writes `machines.<machine>.installedAt` (now) into inventory.json and commits it.
fn record_install_time(root: &Path, machine: &str) -> Result<(), (u8, String)> {
    let path = root.join("inventory.json");
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err((exit::USAGE, format!("cannot read inventory.json: {e}"))),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let text = super::installed_at::with_installed_at(current.as_deref(), machine, now)
        .map_err(|e| (exit::FOUND_ERRORS, e))?;
    std::fs::write(&path, text)
        .map_err(|e| (exit::USAGE, format!("cannot write inventory.json: {e}")))?;
    commit_file(
        root,
        &path,
        &format!("inventory.json: update install time of {machine}"),
    )
    .map_err(|e| (exit::FOUND_ERRORS, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_are_neither_paths_nor_flags() {
        for good in ["web", "web-1", "cinnabar", "a_b", "node.2", "9x"] {
            assert!(valid_machine_name(good), "{good}");
        }
        for bad in [
            "", "-x", "--yes", "..", ".", "../etc", "a/b", "a b", ".hidden", "a\nb", "ü",
        ] {
            assert!(!valid_machine_name(bad), "{bad:?}");
        }
    }
}
