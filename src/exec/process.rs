//! Runs one command as a local process (tokio): its output goes line by line into the
//! machine's log and, as events, to the display; a build's stdout is also kept (for the store
//! path in `nix build --json`). Every process gets its own process group, so a terminal's
//! Ctrl-C reaches clanc only (see `signal`); a process whose future is dropped (an aborted
//! step) is sent SIGTERM with its whole group, and its leader SIGKILL.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use super::events::{Event, Events, send};
use crate::shell::command_line;

/// Where a process's lines go.
pub struct Sink<'a> {
    pub log: &'a Path,
    pub machine: Option<&'a str>,
    pub events: &'a Events,
}

impl Sink<'_> {
    /// A line clanc itself adds to the log (and shows).
    pub fn note(&self, line: &str) {
        super::ssh::note(self.log, line);
        self.show(line);
    }

    fn show(&self, line: &str) {
        send(
            self.events,
            Event::Output {
                machine: self.machine.map(str::to_string),
                line: line.to_string(),
            },
        );
    }
}

/// How a process ended.
pub struct Finished {
    pub status: ExitStatus,
    /// Its stdout lines, when asked to keep them.
    pub stdout: Vec<String>,
}

/// Sends SIGTERM to a running process's group when dropped before it was reaped.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: plain syscall; `pid` leads its own group (process_group(0)) and has not
            // been reaped, so the group id still names it.
            unsafe {
                libc::killpg(pid, libc::SIGTERM);
            }
        }
    }
}

fn open_log(log: &Path) -> Result<File, String> {
    File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open log `{}`: {e}", log.display()))
}

async fn copy_lines(
    stream: impl AsyncRead + Unpin,
    sink: &Sink<'_>,
    mut log: File,
    keep: bool,
) -> Vec<String> {
    let mut reader = BufReader::new(stream);
    let mut kept = Vec::new();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        let _ = writeln!(log, "{line}");
        sink.show(line);
        if keep {
            kept.push(line.to_string());
        }
    }
    kept
}

/// Runs `argv` with `env` added, stdin closed; Err when it cannot start. The log shows the
/// command line, or `shown` instead of it.
pub async fn run(
    argv: &[String],
    env: &[(&str, String)],
    sink: &Sink<'_>,
    keep_stdout: bool,
    shown: Option<&str>,
) -> Result<Finished, String> {
    let Some(program) = argv.first() else {
        return Err("empty command".to_string());
    };
    let mut log = open_log(sink.log)?;
    match shown {
        Some(text) => {
            let _ = writeln!(log, "$ {text}");
        }
        None => {
            let _ = writeln!(log, "$ {}", command_line(argv));
        }
    }
    let mut command = Command::new(program);
    command
        .args(&argv[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let mut guard = GroupGuard(child.id().and_then(|id| i32::try_from(id).ok()));
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_log = log.try_clone().map_err(|e| e.to_string())?;
    let err_log = log.try_clone().map_err(|e| e.to_string())?;
    let read_out = async {
        match stdout {
            Some(s) => copy_lines(s, sink, out_log, keep_stdout).await,
            None => Vec::new(),
        }
    };
    let read_err = async {
        if let Some(s) = stderr {
            copy_lines(s, sink, err_log, false).await;
        }
    };
    let (kept, (), status) = tokio::join!(read_out, read_err, child.wait());
    guard.0 = None;
    let status = status.map_err(|e| format!("waiting for `{program}`: {e}"))?;
    if !status.success() {
        let _ = writeln!(log, "# {status}");
    }
    Ok(Finished {
        status,
        stdout: kept,
    })
}

/// Runs `argv` and fails unless it exits 0.
pub async fn run_ok(
    argv: &[String],
    env: &[(&str, String)],
    sink: &Sink<'_>,
    keep_stdout: bool,
) -> Result<Finished, String> {
    let finished = run(argv, env, sink, keep_stdout, None).await?;
    if finished.status.success() {
        Ok(finished)
    } else {
        Err(format!("`{}` failed ({})", argv[0], finished.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_reaches_the_log_and_the_display_and_the_exit_status_counts() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("m.log");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sink = Sink {
            log: &log,
            machine: Some("m"),
            events: &tx,
        };
        let argv: Vec<String> = ["sh", "-c", "echo out; echo err >&2; exit 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let finished = runtime
            .block_on(run(&argv, &[], &sink, true, None))
            .unwrap();
        assert_eq!(finished.status.code(), Some(3));
        assert_eq!(finished.stdout, ["out"]);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.starts_with("$ sh -c 'echo out; echo err >&2; exit 3'\n"),
            "{text}"
        );
        assert!(text.contains("out\n") && text.contains("err\n"), "{text}");
        let mut shown = Vec::new();
        while let Ok(Event::Output { line, .. }) = rx.try_recv() {
            shown.push(line);
        }
        shown.sort();
        assert_eq!(shown, ["err", "out"]);
        assert!(runtime.block_on(run_ok(&argv, &[], &sink, false)).is_err());
    }
}
