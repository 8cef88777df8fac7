//! Runs one step's commands, in order, with their output appended to the machine's log;
//! a build step's stdout is also parsed for the built store path (`nix build --json`).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::plan::{Host, Step, StepKind};

use super::command::{fill_toplevel, local_argv, remote_line};
use super::quote::command_line;
use super::ssh::Connections;

/// What a run shares with every step.
pub struct Context {
    pub connections: Connections,
    /// This executable, for `clanc` in a plan.
    pub exe: String,
}

/// The store path in `nix build --json` output: `[{"outputs":{"out":"/nix/store/..."}}]`.
pub fn built_path(json: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(json.trim()).map_err(|e| format!("nix build --json: {e}"))?;
    value
        .get(0)
        .and_then(|b| b.get("outputs"))
        .and_then(|o| o.get("out"))
        .and_then(|p| p.as_str())
        .map(str::to_string)
        .ok_or_else(|| "nix build --json printed no outputs.out".to_string())
}

fn open_log(log: &Path) -> Result<File, String> {
    File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open log `{}`: {e}", log.display()))
}

/// Runs `step`; Ok(the built store path, for build steps).
pub fn run_step(
    ctx: &Context,
    step: &Step,
    toplevel: Option<&str>,
    log: &Path,
) -> Result<Option<String>, String> {
    let ssh_args = ctx.connections.options().args();
    let mut built = None;
    for command in &step.commands {
        let argv = fill_toplevel(command, toplevel)?;
        let argv = match &step.host {
            Host::Local => local_argv(argv, &ssh_args, &ctx.exe),
            Host::Remote(target) => {
                let socket = ctx.connections.master(target, log)?;
                ctx.connections
                    .remote_argv(target, &socket, &remote_line(&argv, &ssh_args))
            }
        };
        let mut file = open_log(log)?;
        let _ = writeln!(file, "$ {}", command_line(&argv));
        let capture = step.kind == StepKind::Build;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("NIX_SSHOPTS", ctx.connections.options().nix_sshopts())
            .stdin(Stdio::null())
            .stderr(file.try_clone().map_err(|e| e.to_string())?);
        if capture {
            cmd.stdout(Stdio::piped());
        } else {
            cmd.stdout(file.try_clone().map_err(|e| e.to_string())?);
        }
        let output = cmd
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", argv[0]))?;
        if capture {
            let _ = file.write_all(&output.stdout);
            let _ = writeln!(file);
        }
        if !output.status.success() {
            let _ = writeln!(file, "# {}", output.status);
            return Err(format!("`{}` failed ({})", argv[0], output.status));
        }
        if capture {
            built = Some(built_path(&String::from_utf8_lossy(&output.stdout))?);
        }
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_store_path_nix_2_8_prints() {
        assert_eq!(
            built_path(
                r#"[{"drvPath":"/nix/store/x.drv","outputs":{"out":"/nix/store/5q-alpha"}}]"#
            )
            .unwrap(),
            "/nix/store/5q-alpha"
        );
        assert!(built_path("[]").is_err());
        assert!(built_path("nope").is_err());
    }
}
