//! SSH with the `openssh` crate (process-mux: the system `ssh` client, no native mux): one
//! master `Session` per host, opened on first use with the run's options and reused by every
//! remote step on that host, closed at the end of the run.
//!
//! Options: `BatchMode=yes` always (openssh passes it; clanc never asks), host keys checked
//! with `StrictHostKeyChecking=accept-new` unless `--ssh-option` sets it (mapped to openssh's
//! `KnownHosts`), `ConnectTimeout=15` unless set, every other `--ssh-option KEY=VALUE` and
//! `-i FILE`. The options go into a private ssh_config given with `-F`, followed by
//! `Include`s of the user's and the system's config, so they come first (ssh keeps the first
//! value it reads) and the usual configuration still applies.
//!
//! Remote commands run as `ssh -S <master socket> ... -- <line>` clients of the session,
//! spawned by `process` like every other command: that is what openssh's process-mux
//! `Session::raw_command` runs, but spawned here it can get its own process group, so a
//! terminal's Ctrl-C does not kill a running activation (see `signal`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder};
use tokio::sync::OnceCell;

use crate::model::deploy_target::DeployTarget;

/// The ssh options of a run.
#[derive(Clone, Debug, Default)]
pub struct SshOptions {
    /// `--ssh-option KEY=VALUE`, in order.
    pub options: Vec<(String, String)>,
    /// `-i/--identity FILE`.
    pub identity: Option<PathBuf>,
}

/// Defaults unless the user sets the same key.
const DEFAULTS: [(&str, &str); 3] = [
    ("BatchMode", "yes"),
    ("StrictHostKeyChecking", "accept-new"),
    ("ConnectTimeout", "15"),
];

impl SshOptions {
    fn user_sets(&self, key: &str) -> bool {
        self.options
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(key))
    }

    fn value_of(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// `-o KEY=VALUE ...` and `-i FILE` for an `ssh` command line (the confirmation's fresh
    /// login, `NIX_SSHOPTS`): the user's options first (ssh takes the first value it sees),
    /// then the defaults the user did not set.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (key, value) in &self.options {
            args.push("-o".to_string());
            args.push(format!("{key}={value}"));
        }
        for (key, value) in DEFAULTS {
            if !self.user_sets(key) {
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

    /// openssh's host key policy from `StrictHostKeyChecking` (`ask` cannot ask in batch
    /// mode: it checks strictly).
    fn known_hosts(&self) -> KnownHosts {
        match self
            .value_of("StrictHostKeyChecking")
            .map(str::to_ascii_lowercase)
        {
            Some(v) if v == "no" || v == "off" => KnownHosts::Accept,
            Some(v) if v == "yes" || v == "ask" => KnownHosts::Strict,
            _ => KnownHosts::Add,
        }
    }

    /// The ssh_config the masters read (`-F`): every option openssh does not pass itself,
    /// then the user's and the system's configuration.
    pub fn config_text(&self) -> String {
        let mut text = String::from("# written by clanc apply for this run\n");
        for (key, value) in &self.options {
            if key.eq_ignore_ascii_case("StrictHostKeyChecking")
                || key.eq_ignore_ascii_case("BatchMode")
            {
                continue;
            }
            text.push_str(&format!("{key}={value}\n"));
        }
        if !self.user_sets("ConnectTimeout") {
            text.push_str("ConnectTimeout=15\n");
        }
        text.push_str("Include ~/.ssh/config\nInclude /etc/ssh/ssh_config\n");
        text
    }
}

type Slot = Arc<OnceCell<Result<Arc<Session>, String>>>;

/// The master sessions of a run, one per host.
pub struct Connections {
    options: SshOptions,
    /// Private and short (socket paths are limited to ~100 bytes): the masters' control
    /// directories and the ssh_config.
    dir: tempfile::TempDir,
    config: PathBuf,
    /// How many per-target configs were written (their file names).
    target_configs: std::sync::atomic::AtomicUsize,
    sessions: Mutex<HashMap<String, Slot>>,
}

impl Connections {
    pub fn new(options: SshOptions) -> std::io::Result<Connections> {
        let dir = tempfile::Builder::new()
            .prefix("clanc-ssh")
            .tempdir_in("/tmp")?;
        let config = dir.path().join("config");
        std::fs::write(&config, options.config_text())?;
        Ok(Connections {
            options,
            dir,
            config,
            target_configs: std::sync::atomic::AtomicUsize::new(0),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    pub fn options(&self) -> &SshOptions {
        &self.options
    }

    /// The master session of `target`, connecting on first use (what happened goes to
    /// `log`). A host that could not be reached stays unreachable for the run.
    pub async fn session(&self, target: &DeployTarget, log: &Path) -> Result<Arc<Session>, String> {
        let slot = {
            let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            sessions.entry(target.to_string()).or_default().clone()
        };
        slot.get_or_init(|| self.connect(target, log)).await.clone()
    }

    async fn connect(&self, target: &DeployTarget, log: &Path) -> Result<Arc<Session>, String> {
        let mut builder = SessionBuilder::default();
        // A target's own ssh options (`host?ProxyJump=gw`) come first in a config of its own
        // that includes the run's.
        let config = if target.options.is_empty() {
            self.config.clone()
        } else {
            let path = self.dir.path().join(format!(
                "config-{}",
                self.target_configs
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let mut text = String::from("# the target's own options, then the run's\n");
            for (name, value) in &target.options {
                text.push_str(&format!("{name}={value}\n"));
            }
            text.push_str(&format!("Include {}\n", self.config.display()));
            if let Err(e) = std::fs::write(&path, text) {
                return Err(format!("cannot write the ssh config for {target}: {e}"));
            }
            path
        };
        builder
            .known_hosts_check(self.options.known_hosts())
            .control_directory(self.dir.path())
            .config_file(&config);
        if let Some(user) = &target.user {
            builder.user(user.clone());
        }
        if let Some(port) = target.port {
            builder.port(port);
        }
        if let Some(identity) = &self.options.identity {
            builder.keyfile(identity);
        }
        note(
            log,
            &format!(
                "# ssh master to {target} (openssh, -F {}: {})",
                self.config.display(),
                self.options.args().join(" ")
            ),
        );
        // The openssh crate puts the host last on ssh's command line without `--` (the user
        // goes to `-l`): this relies on `parse_deploy_target` rejecting a user or host that
        // starts with `-`.
        match builder.connect(&target.host).await {
            Ok(session) => Ok(Arc::new(session)),
            Err(e) => {
                let message = error_chain(&e);
                note(log, &format!("ssh: {message}"));
                Err(format!("cannot connect to {target}: {message}"))
            }
        }
    }

    /// The argv of an ssh client running `line` over `session`'s master. `-p 9 none`: should
    /// the master be gone, ssh fails instead of logging in anew (openssh does the same). `-F`:
    /// what a session asks of the master is the client's to say (`ForwardAgent`, `SendEnv`),
    /// so the client reads the run's options too.
    pub fn remote_argv(&self, session: &Session, line: &str) -> Vec<String> {
        vec![
            "ssh".to_string(),
            "-F".to_string(),
            self.config.to_string_lossy().into_owned(),
            "-S".to_string(),
            session.control_socket().to_string_lossy().into_owned(),
            "-o".to_string(),
            "ControlMaster=no".to_string(),
            "-o".to_string(),
            "BatchMode=yes".to_string(),
            "-T".to_string(),
            "-p".to_string(),
            "9".to_string(),
            "none".to_string(),
            "--".to_string(),
            line.to_string(),
        ]
    }

    /// Closes every master that no step holds any more (`ssh -O exit`); the others close
    /// when the last holder drops them.
    pub async fn close(&self) {
        let slots: Vec<Slot> = {
            let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            sessions.drain().map(|(_, slot)| slot).collect()
        };
        for slot in slots {
            let Ok(cell) = Arc::try_unwrap(slot) else {
                continue;
            };
            if let Some(Ok(session)) = cell.into_inner()
                && let Ok(session) = Arc::try_unwrap(session)
            {
                let _ = tokio::time::timeout(Duration::from_secs(10), session.close()).await;
            }
        }
    }
}

/// An error and its sources, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Appends a line to a log (best effort: a log that cannot be written does not stop a run).
pub fn note(log: &Path, line: &str) {
    if let Ok(mut file) = std::fs::File::options().create(true).append(true).open(log) {
        let _ = writeln!(file, "{line}");
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
        assert!(matches!(options.known_hosts(), KnownHosts::Strict));
        assert!(matches!(
            SshOptions::default().known_hosts(),
            KnownHosts::Add
        ));
    }

    #[test]
    fn the_masters_config_carries_the_other_options_first() {
        let options = SshOptions {
            options: vec![
                ("UserKnownHostsFile".into(), "/k/known hosts".into()),
                ("StrictHostKeyChecking".into(), "no".into()),
                ("ConnectTimeout".into(), "3".into()),
            ],
            identity: None,
        };
        assert_eq!(
            options.config_text(),
            "# written by clanc apply for this run\nUserKnownHostsFile=/k/known hosts\n\
             ConnectTimeout=3\nInclude ~/.ssh/config\nInclude /etc/ssh/ssh_config\n"
        );
        assert!(matches!(options.known_hosts(), KnownHosts::Accept));
    }
}
