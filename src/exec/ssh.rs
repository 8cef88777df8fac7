//! SSH through the system `ssh` client: one ControlMaster connection per host, opened on first
//! use and reused by every remote step on that host, closed at the end of the run. (The
//! design names the `openssh` crate; its async API would pull tokio into the runner, so this
//! slice shells out to `ssh` with the same multiplexing. Swapping it later touches this file
//! only.) Options: `BatchMode=yes`, `StrictHostKeyChecking=accept-new` and
//! `ConnectTimeout=15` unless `--ssh-option` says otherwise, every `--ssh-option`, `-i`.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use crate::model::deploy_target::DeployTarget;

use super::quote::command_line;

/// The ssh options of a run.
#[derive(Clone, Debug, Default)]
pub struct SshOptions {
    /// `--ssh-option KEY=VALUE`, in order.
    pub options: Vec<(String, String)>,
    /// `-i/--identity FILE`.
    pub identity: Option<PathBuf>,
}

impl SshOptions {
    /// `-o KEY=VALUE ...` and `-i FILE`: the defaults unless the user set the same key (ssh
    /// takes the first value it sees, so the user's come first anyway).
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (key, value) in &self.options {
            args.push("-o".to_string());
            args.push(format!("{key}={value}"));
        }
        for (key, value) in [
            ("BatchMode", "yes"),
            ("StrictHostKeyChecking", "accept-new"),
            ("ConnectTimeout", "15"),
        ] {
            if !self
                .options
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(key))
            {
                args.push("-o".to_string());
                args.push(format!("{key}={value}"));
            }
        }
        if let Some(identity) = &self.identity {
            args.push("-i".to_string());
            args.push(identity.to_string_lossy().into_owned());
        }
        args
    }

    /// The same options for `NIX_SSHOPTS` (Nix splits it at whitespace: values with spaces
    /// cannot be passed this way).
    pub fn nix_sshopts(&self) -> String {
        self.args().join(" ")
    }
}

/// `-p N` when the target has a port.
fn port_args(target: &DeployTarget) -> Vec<String> {
    match target.port {
        Some(port) => vec!["-p".to_string(), port.to_string()],
        None => Vec::new(),
    }
}

type Master = Arc<Mutex<Option<Result<PathBuf, String>>>>;

/// The master connections of a run, one per host.
pub struct Connections {
    options: SshOptions,
    /// Short, private directory for the control sockets (socket paths are limited to ~100
    /// bytes).
    dir: tempfile::TempDir,
    masters: Mutex<HashMap<String, Master>>,
}

impl Connections {
    pub fn new(options: SshOptions) -> std::io::Result<Connections> {
        let dir = tempfile::Builder::new()
            .prefix("clanc-ssh")
            .tempdir_in("/tmp")?;
        Ok(Connections {
            options,
            dir,
            masters: Mutex::new(HashMap::new()),
        })
    }

    pub fn options(&self) -> &SshOptions {
        &self.options
    }

    /// The control socket of `target`'s master, opening it on first use (its messages go to
    /// `log`). A host that could not be reached stays unreachable for the run.
    pub fn master(&self, target: &DeployTarget, log: &Path) -> Result<PathBuf, String> {
        let key = target.to_string();
        let (slot, number) = {
            let mut masters = self.masters.lock().unwrap_or_else(PoisonError::into_inner);
            let next = masters.len();
            let slot = masters
                .entry(key)
                .or_insert_with(|| Arc::new(Mutex::new(None)))
                .clone();
            (slot, next)
        };
        let mut state = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(result) = state.as_ref() {
            return result.clone();
        }
        let socket = self.dir.path().join(format!("m{number}"));
        let result = open_master(&self.options, target, &socket, log);
        *state = Some(result.clone());
        result
    }

    /// ssh's argv running `argv` on `target` over its master connection.
    pub fn remote_argv(&self, target: &DeployTarget, socket: &Path, line: &str) -> Vec<String> {
        let mut argv = vec!["ssh".to_string()];
        argv.extend(self.options.args());
        argv.extend([
            "-o".to_string(),
            format!("ControlPath={}", socket.display()),
            "-o".to_string(),
            "ControlMaster=no".to_string(),
        ]);
        argv.extend(port_args(target));
        argv.push(target.ssh_destination());
        argv.push(line.to_string());
        argv
    }

    /// Closes every master (`ssh -O exit`).
    pub fn close(&self) {
        let masters = self.masters.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, slot) in masters.iter() {
            let Ok(state) = slot.lock() else { continue };
            let Some(Ok(socket)) = state.as_ref() else {
                continue;
            };
            let Ok(target) = crate::model::deploy_target::parse_deploy_target(key) else {
                continue;
            };
            let _ = Command::new("ssh")
                .arg("-o")
                .arg(format!("ControlPath={}", socket.display()))
                .args(["-O", "exit"])
                .args(port_args(&target))
                .arg(target.ssh_destination())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_master(
    options: &SshOptions,
    target: &DeployTarget,
    socket: &Path,
    log: &Path,
) -> Result<PathBuf, String> {
    let mut argv = vec!["ssh".to_string()];
    argv.extend(options.args());
    argv.extend([
        "-o".to_string(),
        "ControlMaster=yes".to_string(),
        "-o".to_string(),
        "ControlPersist=yes".to_string(),
        "-o".to_string(),
        format!("ControlPath={}", socket.display()),
        "-N".to_string(),
        "-f".to_string(),
    ]);
    argv.extend(port_args(target));
    argv.push(target.ssh_destination());
    let errors = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open log `{}`: {e}", log.display()))?;
    {
        use std::io::Write;
        let mut header = &errors;
        let _ = writeln!(header, "$ {}", command_line(&argv));
    }
    // The backgrounded master keeps its stderr: a file, never a pipe we would wait on.
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errors)
        .status()
        .map_err(|e| format!("cannot run ssh: {e}"))?;
    if status.success() {
        Ok(socket.to_path_buf())
    } else {
        Err(format!("cannot connect to {target} (ssh: {status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_yield_to_user_options() {
        let options = SshOptions {
            options: vec![("StrictHostKeyChecking".into(), "yes".into())],
            identity: Some(PathBuf::from("/k/id")),
        };
        let args = options.args();
        assert_eq!(
            args,
            [
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=15",
                "-i",
                "/k/id"
            ]
        );
        assert_eq!(
            SshOptions::default().nix_sshopts(),
            "-o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=15"
        );
    }
}
