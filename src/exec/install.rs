//! Running nixos-anywhere for `clanc machines install` (and its alias `clanc install`) the way
//! clan's `run_machine_install` does (clan-core `clan_lib/machines/install.py` and
//! `nixos_anywhere.py`): one argv, run once per phase with `--phases <phase>` appended; a
//! persistent nixos-anywhere key (`-i`) so that later phases still log in after the kexec one;
//! the user's own key as `--ssh-option IdentityFile=...`; a password only through `SSHPASS`.
//! Afterwards a changed file is committed as clan's `commit_file` does.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::model::deploy_target::DeployTarget;

/// nixos-anywhere's phases, in the order clan runs them when none are given.
pub const PHASES: [&str; 4] = ["kexec", "disko", "install", "reboot"];

/// Where nixos-anywhere finds the partitioning secrets on the installer
/// (`--disk-encryption-keys <here>/<rel_dir>/<file> <local file>`); clan's NixOS module points
/// such a file's `path` there.
pub const PARTITIONING_SECRETS_DIR: &str = "/run/partitioning-secrets";

/// What nixos-anywhere is asked to do.
pub struct Install<'a> {
    /// The clan's flake reference (its absolute path).
    pub flake: &'a str,
    pub machine: &'a str,
    pub target: &'a DeployTarget,
    /// The tree copied onto the new system's root (`--extra-files`), always passed, as clan.
    pub extra_files: &'a Path,
    /// `--disk-encryption-keys <remote path> <local file>`, in this order.
    pub disk_encryption_keys: &'a [(String, PathBuf)],
    pub no_reboot: bool,
    /// The user's `--phases`, passed through as clan does (the per-run `--phases` comes last
    /// and wins in nixos-anywhere).
    pub phases: Option<&'a str>,
    /// `--generate-hardware-config <kind> <path>`.
    pub hardware_config: Option<(&'a str, PathBuf)>,
    /// A password is given (in `SSHPASS`): `--env-password --ssh-option IdentitiesOnly=yes`.
    pub password: bool,
    /// The nixos-anywhere key (`-i`).
    pub anywhere_key: &'a Path,
    /// The user's key: `--ssh-option IdentityFile=<it>`.
    pub identity: Option<&'a Path>,
    /// `--build-on auto|local|remote`.
    pub build_on: Option<&'a str>,
    pub kexec: Option<&'a str>,
    pub debug: bool,
    /// clanc's own `--ssh-option`s, after the target's (`?Name=value` in its address).
    pub ssh_options: &'a [(String, String)],
}

/// `name` found in the directories of `path` (a `PATH` value) as an executable file.
pub fn find_on_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = path?;
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The nixos-anywhere argv without the per-run `--phases <phase>` (`tool` is its path), in
/// clan's order.
pub fn nixos_anywhere_argv(tool: &Path, install: &Install) -> Vec<String> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut argv = vec![
        path(tool),
        "--flake".to_string(),
        format!("{}#{}", install.flake, install.machine),
        "--extra-files".to_string(),
        path(install.extra_files),
    ];
    for (remote, local) in install.disk_encryption_keys {
        argv.extend([
            "--disk-encryption-keys".to_string(),
            remote.clone(),
            path(local),
        ]);
    }
    if install.no_reboot {
        argv.push("--no-reboot".to_string());
    }
    if let Some(phases) = install.phases {
        argv.extend(["--phases".to_string(), phases.to_string()]);
    }
    if let Some((kind, file)) = &install.hardware_config {
        argv.extend([
            "--generate-hardware-config".to_string(),
            kind.to_string(),
            path(file),
        ]);
    }
    if install.password {
        argv.extend(["--env-password", "--ssh-option", "IdentitiesOnly=yes"].map(String::from));
    }
    argv.extend(["-i".to_string(), path(install.anywhere_key)]);
    if let Some(identity) = install.identity {
        argv.extend([
            "--ssh-option".to_string(),
            format!("IdentityFile={}", identity.display()),
        ]);
    }
    if let Some(build_on) = install.build_on {
        argv.extend(["--build-on".to_string(), build_on.to_string()]);
    }
    if let Some(port) = install.target.port {
        argv.extend(["--ssh-port".to_string(), port.to_string()]);
    }
    if let Some(kexec) = install.kexec {
        argv.extend(["--kexec".to_string(), kexec.to_string()]);
    }
    if install.debug {
        argv.push("--debug".to_string());
    }
    for (key, value) in install.target.options.iter().chain(install.ssh_options) {
        argv.extend(["--ssh-option".to_string(), format!("{key}={value}")]);
    }
    // nixos-anywhere takes the destination as a plain argument and hands it to ssh: this
    // relies on `parse_deploy_target` rejecting a user or host starting with `-`.
    argv.push(format!(
        "{}@{}",
        install.target.user_or_root(),
        install.target.host
    ));
    argv
}

/// The phases to run one by one: the user's `--phases` (split at commas, trimmed, as clan
/// does), or all four. Unlike clan, `--no-reboot` leaves out `reboot`: clan passes
/// `--no-reboot` and then `--phases reboot`, which nixos-anywhere reads last and reboots.
/// Err: a phase nixos-anywhere does not have.
pub fn phases_to_run(phases: Option<&str>, no_reboot: bool) -> Result<Vec<String>, String> {
    let given: Vec<String> = match phases {
        Some(text) if !text.is_empty() => text.split(',').map(|p| p.trim().to_string()).collect(),
        _ => PHASES.iter().map(|p| p.to_string()).collect(),
    };
    if let Some(bad) = given.iter().find(|p| !PHASES.contains(&p.as_str())) {
        return Err(format!(
            "unknown phase `{bad}` in --phases (nixos-anywhere has {})",
            PHASES.join(", ")
        ));
    }
    Ok(given
        .into_iter()
        .filter(|p| !(no_reboot && p == "reboot"))
        .collect())
}

/// Runs `argv --phases <phase>` with this terminal, `SSHPASS` set to `password` for it alone;
/// Ok(its exit code, None when a signal ended it).
pub fn run_nixos_anywhere(
    argv: &[String],
    phase: &str,
    password: Option<&str>,
) -> Result<Option<i32>, String> {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).args(["--phases", phase]);
    if let Some(password) = password {
        command.env("SSHPASS", password);
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", argv[0]))?;
    Ok(status.code())
}

/// clan's nixos-anywhere key, `<config>/clan/nixos-anywhere/keys/id_ed25519` (`<config>`:
/// `$XDG_CONFIG_HOME` or `~/.config`), made with ssh-keygen on first use. The same file clan
/// uses, so an install split into phases may start with clan and go on with clanc.
pub fn nixos_anywhere_key(config_dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = config_dir.join("clan/nixos-anywhere/keys");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let key = dir.join("id_ed25519");
    if key.exists() {
        return Ok(key);
    }
    let out = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-f"])
        .arg(&key)
        .output()
        .map_err(|e| format!("cannot run ssh-keygen: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ssh-keygen could not create the nixos-anywhere key `{}`: {}",
            key.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(key)
}

/// The user's configuration directory as clan finds it: `$XDG_CONFIG_HOME`, else
/// `$HOME/.config`.
pub fn user_config_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match env("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => env("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| Path::new(&home).join(".config")),
    }
}

/// clan's `commit_file`: nothing unless `<root>/.git` exists; `git add -- <file>`, nothing
/// more when the index has no change for it, then `git commit -m <message> --no-verify --
/// <file>`. With `CLAN_NO_COMMIT` set, only `git add --intent-to-add`.
pub fn commit_file(root: &Path, file: &Path, message: &str) -> Result<(), String> {
    if !root.join(".git").exists() {
        return Ok(());
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .arg(file)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))
    };
    let check = |out: std::process::Output, what: &str| {
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "git {what} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    if std::env::var_os("CLAN_NO_COMMIT").is_some_and(|v| !v.is_empty()) {
        return check(git(&["add", "--intent-to-add", "--"])?, "add");
    }
    check(git(&["add", "--"])?, "add")?;
    if git(&["diff", "--cached", "--quiet", "--exit-code", "--"])?
        .status
        .success()
    {
        return Ok(());
    }
    check(
        git(&["commit", "-q", "-m", message, "--no-verify", "--"])?,
        "commit",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::deploy_target::parse_deploy_target;

    fn install<'a>(
        target: &'a DeployTarget,
        keys: &'a [(String, PathBuf)],
        extra: &'a [(String, String)],
    ) -> Install<'a> {
        Install {
            flake: "/srv/clan",
            machine: "web",
            target,
            extra_files: Path::new("/tmp/x/activation_secrets"),
            disk_encryption_keys: keys,
            no_reboot: false,
            phases: None,
            hardware_config: None,
            password: false,
            anywhere_key: Path::new("/home/u/.config/clan/nixos-anywhere/keys/id_ed25519"),
            identity: None,
            build_on: None,
            kexec: None,
            debug: false,
            ssh_options: extra,
        }
    }

    #[test]
    fn argv_in_clans_order() {
        let target = parse_deploy_target("admin@10.0.0.5:2222?ProxyJump=jump").unwrap();
        let keys = [(
            "/run/partitioning-secrets/per-machine/web/disk/key".to_string(),
            PathBuf::from("/tmp/x/partitioning_secrets/per-machine/web/disk/key"),
        )];
        let extra = [("ConnectTimeout".to_string(), "5".to_string())];
        let mut all = install(&target, &keys, &extra);
        all.no_reboot = true;
        all.phases = Some("kexec,disko");
        all.hardware_config = Some((
            "nixos-facter",
            PathBuf::from("/srv/clan/machines/web/facter.json"),
        ));
        all.password = true;
        all.identity = Some(Path::new("/k"));
        all.build_on = Some("remote");
        all.kexec = Some("https://example.org/k.tar.gz");
        all.debug = true;
        assert_eq!(
            nixos_anywhere_argv(Path::new("/bin/nixos-anywhere"), &all).join(" "),
            "/bin/nixos-anywhere --flake /srv/clan#web --extra-files /tmp/x/activation_secrets \
             --disk-encryption-keys /run/partitioning-secrets/per-machine/web/disk/key \
             /tmp/x/partitioning_secrets/per-machine/web/disk/key --no-reboot --phases kexec,disko \
             --generate-hardware-config nixos-facter /srv/clan/machines/web/facter.json \
             --env-password --ssh-option IdentitiesOnly=yes \
             -i /home/u/.config/clan/nixos-anywhere/keys/id_ed25519 \
             --ssh-option IdentityFile=/k --build-on remote --ssh-port 2222 \
             --kexec https://example.org/k.tar.gz --debug --ssh-option ProxyJump=jump \
             --ssh-option ConnectTimeout=5 admin@10.0.0.5"
        );
        let plain = parse_deploy_target("10.0.0.5").unwrap();
        assert_eq!(
            nixos_anywhere_argv(Path::new("nixos-anywhere"), &install(&plain, &[], &[])).join(" "),
            "nixos-anywhere --flake /srv/clan#web --extra-files /tmp/x/activation_secrets \
             -i /home/u/.config/clan/nixos-anywhere/keys/id_ed25519 root@10.0.0.5"
        );
    }

    #[test]
    fn phases_as_clan_splits_them_without_a_reboot_under_no_reboot() {
        assert_eq!(
            phases_to_run(None, false).unwrap(),
            ["kexec", "disko", "install", "reboot"]
        );
        assert_eq!(
            phases_to_run(Some(""), true).unwrap(),
            ["kexec", "disko", "install"]
        );
        assert_eq!(
            phases_to_run(Some("disko, install"), false).unwrap(),
            ["disko", "install"]
        );
        assert!(phases_to_run(Some("kexec,--debug"), false).is_err());
        assert!(phases_to_run(Some("kexec,,disko"), false).is_err());
    }

    #[test]
    fn config_dir_as_clan_finds_it() {
        let env = |pairs: &'static [(&str, &str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            user_config_dir(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(
            user_config_dir(env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config"))
        );
        assert_eq!(user_config_dir(env(&[])), None);
    }

    #[test]
    fn tools_are_found_only_as_executable_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths(["/nonexistent", dir.path().to_str().unwrap()]).unwrap();
        assert_eq!(find_on_path("tool", Some(&path)), None, "not executable");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_on_path("tool", Some(&path)), Some(tool));
        assert_eq!(find_on_path("tool", None), None);
    }
}
