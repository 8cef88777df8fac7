//! Running nixos-anywhere for `clanc install`, the way clan does: `--flake <flake>#<m>`,
//! the activation secrets as `--extra-files <dir>` (a tree the caller prepared in a private
//! temporary directory), the target's port as `--ssh-port`, `root@host` unless the target
//! names a user.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::model::deploy_target::DeployTarget;

use super::ssh::SshOptions;

/// What nixos-anywhere is asked to do.
pub struct Install<'a> {
    /// The clan's flake reference (its absolute path).
    pub flake: &'a str,
    pub machine: &'a str,
    pub target: &'a DeployTarget,
    /// The tree copied onto the new system's root (`--extra-files`).
    pub extra_files: Option<&'a Path>,
    pub no_reboot: bool,
    pub kexec: Option<&'a str>,
    pub build_on_remote: bool,
    pub debug: bool,
    /// `--generate-hardware-config <kind> <path>`.
    pub hardware_config: Option<(&'a str, PathBuf)>,
    /// Only the user's own `--ssh-option`s and `-i` are passed (nixos-anywhere has its own
    /// host key handling for the kexec'd installer).
    pub ssh: &'a SshOptions,
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

/// The nixos-anywhere argv (`tool` is its path).
pub fn nixos_anywhere_argv(tool: &Path, install: &Install) -> Vec<String> {
    let mut argv = vec![
        tool.to_string_lossy().into_owned(),
        "--flake".to_string(),
        format!("{}#{}", install.flake, install.machine),
    ];
    if let Some(dir) = install.extra_files {
        argv.push("--extra-files".to_string());
        argv.push(dir.to_string_lossy().into_owned());
    }
    if install.no_reboot {
        argv.push("--no-reboot".to_string());
    }
    if let Some((kind, path)) = &install.hardware_config {
        argv.push("--generate-hardware-config".to_string());
        argv.push(kind.to_string());
        argv.push(path.to_string_lossy().into_owned());
    }
    if install.build_on_remote {
        argv.push("--build-on-remote".to_string());
    }
    if let Some(port) = install.target.port {
        argv.push("--ssh-port".to_string());
        argv.push(port.to_string());
    }
    if let Some(kexec) = install.kexec {
        argv.push("--kexec".to_string());
        argv.push(kexec.to_string());
    }
    if install.debug {
        argv.push("--debug".to_string());
    }
    if let Some(identity) = &install.ssh.identity {
        argv.push("-i".to_string());
        argv.push(identity.to_string_lossy().into_owned());
    }
    for (key, value) in &install.ssh.options {
        argv.push("--ssh-option".to_string());
        argv.push(format!("{key}={value}"));
    }
    // nixos-anywhere takes the destination as its last argument and hands it to ssh; no `--`
    // here: this relies on `parse_deploy_target` rejecting a user or host starting with `-`.
    argv.push(format!(
        "{}@{}",
        install.target.user_or_root(),
        install.target.host
    ));
    argv
}

/// Runs nixos-anywhere with this terminal; Ok(its exit code, None when a signal ended it).
pub fn run_nixos_anywhere(argv: &[String]) -> Result<Option<i32>, String> {
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", argv[0]))?;
    Ok(status.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::deploy_target::parse_deploy_target;

    #[test]
    fn argv_as_clan_builds_it() {
        let target = parse_deploy_target("10.0.0.5:2222").unwrap();
        let ssh = SshOptions {
            options: vec![("IdentitiesOnly".into(), "yes".into())],
            identity: Some(PathBuf::from("/k")),
        };
        let install = Install {
            flake: "/srv/clan",
            machine: "web",
            target: &target,
            extra_files: Some(Path::new("/tmp/x/root")),
            no_reboot: true,
            kexec: None,
            build_on_remote: false,
            debug: false,
            hardware_config: None,
            ssh: &ssh,
        };
        assert_eq!(
            nixos_anywhere_argv(Path::new("/bin/nixos-anywhere"), &install).join(" "),
            "/bin/nixos-anywhere --flake /srv/clan#web --extra-files /tmp/x/root --no-reboot \
             --ssh-port 2222 -i /k --ssh-option IdentitiesOnly=yes root@10.0.0.5"
        );
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
