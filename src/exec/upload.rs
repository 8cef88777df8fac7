//! Sending the upload archive (`vars::archive`) to a target over ssh, as clan uploads
//! secrets: the archive goes through ssh's stdin (never an argument, never a file here) into
//! a fresh private directory next to the destination (`mktemp -d`, mode 0700, under
//! `umask 077`, so each file's mode holds before its content is written), and only a complete
//! extraction replaces the destination. `sudo -n` when the login user is not root.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::model::deploy_target::DeployTarget;

use super::ssh::SshOptions;
use crate::shell::command_line;

pub use crate::plan::step::SECRETS_UPLOAD_DIR as DEFAULT_UPLOAD_DIR;

/// The target's script; `$1` is the destination directory.
const RECEIVE: &str = r#"set -eu
umask 077
dest=${1%/}
mkdir -p -- "$(dirname -- "$dest")"
fresh=$(mktemp -d "$dest.upload-XXXXXX")
trap 'rm -rf -- "$fresh"' EXIT
tar -x -p -f - -C "$fresh"
rm -rf -- "$dest"
mv -- "$fresh" "$dest"
trap - EXIT"#;

/// The argv (on the target) that receives the archive into `dest`.
pub fn receive_argv(target: &DeployTarget, dest: &str) -> Vec<String> {
    let mut argv = Vec::new();
    if target.user_or_root() != "root" {
        argv.extend(["sudo".to_string(), "-n".to_string()]);
    }
    argv.extend(
        ["sh", "-c", RECEIVE, "sh", dest]
            .iter()
            .map(|w| w.to_string()),
    );
    argv
}

/// The local ssh argv that runs `receive_argv` on `target`.
pub fn ssh_argv(target: &DeployTarget, options: &SshOptions, dest: &str) -> Vec<String> {
    let mut argv = vec!["ssh".to_string()];
    argv.extend(options.args());
    if let Some(port) = target.port {
        argv.extend(["-p".to_string(), port.to_string()]);
    }
    argv.extend(target.ssh_option_args());
    // `--` ends ssh's options before the destination (the target parser also rejects a user or
    // host starting with `-`).
    argv.push("--".to_string());
    argv.push(target.ssh_destination());
    argv.push(command_line(&receive_argv(target, dest)));
    argv
}

/// Whether `dest` may be replaced by an upload: absolute, without `.` or `..`, and at least two
/// levels deep (the upload replaces the whole directory: `/var` or `/etc` by mistake would be
/// a disaster).
pub fn check_upload_dir(dest: &str) -> Result<(), String> {
    if !dest.starts_with('/') {
        return Err(format!("the upload directory `{dest}` is not absolute"));
    }
    let parts: Vec<&str> = dest.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(format!(
            "the upload directory `{dest}` contains `.` or `..`"
        ));
    }
    if parts.len() < 2 {
        return Err(format!(
            "refusing to upload into `{dest}`: the upload replaces the whole directory; \
             use a directory at least two levels deep, like /var/lib/sops-nix"
        ));
    }
    Ok(())
}

/// Streams `archive` to `target` and unpacks it into `dest`. ssh's own output goes to this
/// process's stdout and stderr (the machine's log under `clanc apply`); it never contains
/// the archive.
pub fn upload_archive(
    target: &DeployTarget,
    options: &SshOptions,
    dest: &str,
    archive: &[u8],
) -> Result<(), String> {
    check_upload_dir(dest)?;
    let argv = ssh_argv(target, options, dest);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ssh: {e}"))?;
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(archive).and_then(|()| stdin.flush()),
        None => Ok(()),
    };
    let status = child.wait().map_err(|e| format!("waiting for ssh: {e}"))?;
    if !status.success() {
        return Err(format!(
            "uploading to {target}:{dest} failed (ssh: {status})"
        ));
    }
    written.map_err(|e| format!("sending the secrets to {target}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::deploy_target::parse_deploy_target;

    #[test]
    fn only_deep_absolute_directories_are_replaced() {
        assert!(check_upload_dir("/var/lib/sops-nix").is_ok());
        assert!(check_upload_dir("/tmp/x/upload/").is_ok());
        for bad in [
            "var/lib/sops-nix",
            "/",
            "/var",
            "/var/",
            "/var/lib/../..",
            "/a/./b",
        ] {
            assert!(check_upload_dir(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_archive_goes_to_stdin_and_sudo_only_for_other_users() {
        let root = parse_deploy_target("root@h:2222").unwrap();
        let argv = ssh_argv(&root, &SshOptions::default(), "/var/lib/sops-nix");
        assert_eq!(
            argv[argv.len() - 5..argv.len() - 1],
            ["-p", "2222", "--", "root@h"]
        );
        let line = argv.last().unwrap();
        assert!(line.starts_with("sh -c 'set -eu"), "{line}");
        assert!(line.ends_with(" sh /var/lib/sops-nix"), "{line}");
        let admin = parse_deploy_target("admin@h").unwrap();
        assert_eq!(receive_argv(&admin, "/d")[..2], ["sudo", "-n"]);
        let hostile = receive_argv(&root, "/tmp/a b;touch x");
        assert_eq!(hostile.last().unwrap(), "/tmp/a b;touch x");
    }

    /// The target's script, run here with `sh`: a complete archive replaces the directory,
    /// a broken one leaves the old directory and nothing else.
    #[test]
    fn the_destination_is_replaced_only_by_a_complete_extraction() {
        use crate::vars::upload::UploadFile;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sops nix");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old"), "old").unwrap();
        let receive = |bytes: &[u8]| {
            let mut child = Command::new("sh")
                .args(["-c", RECEIVE, "sh"])
                .arg(&dest)
                .stdin(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let _ = child.stdin.take().unwrap().write_all(bytes);
            child.wait().unwrap().success()
        };
        let files = [UploadFile {
            path: "key.txt".into(),
            mode: 0o600,
            content: zeroize::Zeroizing::new(b"AGE-SECRET-KEY-1X\n".to_vec()),
        }];
        let archive = crate::vars::archive::archive(&files).unwrap();
        assert!(!receive(&archive[..700]), "a truncated archive fails");
        let names = |p: &std::path::Path| {
            let mut n: Vec<_> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(dir.path()), ["sops nix"]);
        assert_eq!(names(&dest), ["old"]);
        assert!(receive(&archive));
        assert_eq!(names(dir.path()), ["sops nix"]);
        assert_eq!(names(&dest), ["key.txt"]);
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dest), mode(&dest.join("key.txt"))), (0o700, 0o600));
    }
}
