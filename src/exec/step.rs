//! Runs one plan step: its commands in order, locally or over the host's ssh session; a
//! build's store path from `nix build --json`; activation through the agent of `rollback`
//! and, with rollback on, the confirmation over a new connection.

use std::sync::Arc;
use std::time::Duration;

use crate::plan::{Host, Step, StepKind};

use super::command::{fill, fill_toplevel, local_argv, remote_line};
use super::process::{self, Sink};
use super::rollback::{self, Activation, AgentResult};
use super::ssh::Connections;
use crate::shell::command_line;

/// What a run shares with every step.
pub struct Context {
    pub connections: Connections,
    /// This executable, for `clanc` in a plan.
    pub exe: String,
    /// Magic rollback for this run's activations.
    pub rollback: bool,
    pub confirm_timeout_secs: u64,
}

/// What a successful step leaves for later steps.
#[derive(Debug)]
pub enum StepOutput {
    Nothing,
    /// A build's store path.
    Built(String),
    /// The flake's store path on the build host (upload-sources).
    Source(String),
    /// An activation the machine's confirm step confirms.
    Activated(Activation),
    /// The target ran the system already: the agent activated nothing.
    Unchanged,
    /// What a diff step found (`clanc plan --diff`).
    Compared(crate::plan::SystemDiff),
}

/// Why a step did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepFailure {
    Failed(String),
    /// Failed, and the target is back on the system it ran before.
    RolledBack(String),
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

/// The flake's store path in `nix flake metadata --json` or `nix flake archive --json`
/// output: `{"path":"/nix/store/...-source",...}`.
pub fn source_path(json: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(json.trim()).map_err(|e| format!("nix flake --json: {e}"))?;
    value
        .get("path")
        .and_then(|p| p.as_str())
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
        .ok_or_else(|| "nix flake --json printed no path".to_string())
}

/// What a machine's earlier steps produced.
#[derive(Clone, Copy, Debug, Default)]
pub struct Produced<'a> {
    /// The built system.
    pub toplevel: Option<&'a str>,
    /// The flake's source on the build host.
    pub source: Option<&'a str>,
}

/// Runs `step`. `produced`: the machine's built system and uploaded source; `activation`:
/// the machine's activation awaiting confirmation (for its confirm step).
pub async fn run_step(
    ctx: Arc<Context>,
    step: &Step,
    produced: Produced<'_>,
    activation: Option<&Activation>,
    sink: &Sink<'_>,
) -> Result<StepOutput, StepFailure> {
    let toplevel = produced.toplevel;
    match (&step.kind, &step.host) {
        (StepKind::Activate, Host::Remote(target)) => {
            activate(&ctx, step, target, toplevel, sink).await
        }
        (StepKind::Diff, Host::Remote(target)) => {
            super::diff::compare(&ctx, step, target, toplevel, sink).await
        }
        (StepKind::Confirm, Host::Local) if activation.is_some_and(|a| a.awaits_confirmation) => {
            match activation {
                Some(a) => confirm(&ctx, step, a, sink).await,
                None => Ok(StepOutput::Nothing),
            }
        }
        _ => run_commands(&ctx, step, produced, sink)
            .await
            .map_err(StepFailure::Failed),
    }
}

fn nix_sshopts(ctx: &Context) -> [(&'static str, String); 1] {
    [("NIX_SSHOPTS", ctx.connections.options().nix_sshopts())]
}

/// A step's commands in order, each must succeed. A build's store path comes from its
/// `--json` output; an upload-sources step's `{source}` from the `--json` output of its
/// first command, filled into the next.
async fn run_commands(
    ctx: &Context,
    step: &Step,
    produced: Produced<'_>,
    sink: &Sink<'_>,
) -> Result<StepOutput, String> {
    let ssh_args = ctx.connections.options().args();
    let mut output = StepOutput::Nothing;
    let mut source = produced.source.map(str::to_string);
    for command in &step.commands {
        let argv = fill(command, produced.toplevel, source.as_deref())?;
        let argv = match &step.host {
            Host::Local => local_argv(argv, &ssh_args, &ctx.exe),
            Host::Remote(target) => {
                let session = ctx.connections.session(target, sink.log).await?;
                ctx.connections
                    .remote_argv(&session, &remote_line(&argv, &ssh_args))
            }
        };
        let keep = step.kind == StepKind::Build
            || (step.kind == StepKind::UploadSources && command.iter().any(|w| w == "--json"));
        let finished = process::run_ok(&argv, &nix_sshopts(ctx), sink, keep).await?;
        if step.kind == StepKind::Build {
            output = StepOutput::Built(built_path(&finished.stdout.join("\n"))?);
        } else if keep {
            let path = source_path(&finished.stdout.join("\n"))?;
            source = Some(path.clone());
            output = StepOutput::Source(path);
        }
    }
    Ok(output)
}

/// Activation through the agent (see `rollback`).
async fn activate(
    ctx: &Context,
    step: &Step,
    target: &crate::model::deploy_target::DeployTarget,
    toplevel: Option<&str>,
    sink: &Sink<'_>,
) -> Result<StepOutput, StepFailure> {
    let failed = StepFailure::Failed;
    let Some(last) = step.commands.last() else {
        return Ok(StepOutput::Nothing);
    };
    let activation = Activation::new(target, ctx.rollback, ctx.confirm_timeout_secs);
    // activation commands hold no `env NIX_SSHOPTS=`: the run's ssh options do not apply
    let mut lines = Vec::new();
    for command in &step.commands {
        lines.push(remote_line(
            &fill_toplevel(command, toplevel).map_err(failed)?,
            &[],
        ));
    }
    let reactivate = remote_line(
        &rollback::reactivation(last, &activation.previous_system()).map_err(failed)?,
        &[],
    );
    let profile = rollback::profile_of(&step.commands);
    let filled_last = fill_toplevel(last, toplevel).map_err(failed)?;
    let live_switch = rollback::live_switch_system(&filled_last)
        .map(|system| (system, remote_line(&rollback::retry(&filled_last), &[])));
    // what `plan --diff` calls unchanged, the agent does not activate
    let unchanged_if =
        toplevel
            .zip(crate::plan::diff::activated_system(last))
            .map(|(toplevel, system)| {
                (
                    system.replace(crate::plan::step::TOPLEVEL, toplevel),
                    toplevel,
                )
            });
    let session = ctx
        .connections
        .session(target, sink.log)
        .await
        .map_err(failed)?;
    sink.note(&format!(
        "# activation agent in {} (rollback {}, {} s to confirm)",
        activation.dir,
        if activation.awaits_confirmation {
            "on"
        } else {
            "off"
        },
        activation.timeout_secs
    ));
    for line in &lines {
        sink.note(&format!("#   {line}"));
    }
    let launcher = activation.launcher_argv(
        profile.as_deref(),
        &reactivate,
        live_switch.as_ref().map(|(s, r)| (s.as_str(), r.as_str())),
        unchanged_if.as_ref().map(|(s, t)| (s.as_str(), *t)),
        &lines,
    );
    let argv = ctx
        .connections
        .remote_argv(&session, &command_line(&launcher));
    // The log shows the agent's commands (above), not the scripts' text.
    let shown = format!("ssh {target}: start the activation agent and follow its log");
    let finished = process::run(&argv, &[], sink, true, Some(&shown))
        .await
        .map_err(failed)?;
    match rollback::parse_result(&finished.stdout) {
        Some(AgentResult::Activated | AgentResult::Confirmed) => {
            Ok(StepOutput::Activated(activation))
        }
        Some(AgentResult::Unchanged) => {
            sink.note("# the target runs this system already: activation skipped");
            Ok(StepOutput::Unchanged)
        }
        Some(AgentResult::RolledBack) => Err(StepFailure::RolledBack(
            "activation failed; the previous system is active again".to_string(),
        )),
        Some(AgentResult::RollbackFailed) => Err(failed(
            "activation failed, and rolling back failed too".to_string(),
        )),
        Some(AgentResult::NothingToRollBack) => Err(failed(
            "activation failed; no earlier system to roll back to".to_string(),
        )),
        Some(AgentResult::Inhibited) => Err(failed(format!(
            "live-switching was blocked by switch inhibitors (critical system components \
             changed); the new system is registered for the next boot: reboot {} to complete \
             the update, or deploy again with --no-check to switch anyway",
            target.host
        ))),
        Some(AgentResult::Failed) => Err(failed("activation failed".to_string())),
        // ssh's own failure: the agent may run on; it completes the activation.
        None if finished.status.code() == Some(255) => Err(failed(format!(
            "lost the connection during activation; the target completes it on its own{}",
            if activation.awaits_confirmation {
                " and rolls it back, unconfirmed"
            } else {
                ""
            }
        ))),
        None => Err(failed(format!(
            "the activation agent did not start or report ({}; see the log)",
            finished.status
        ))),
    }
}

/// Confirms `activation` over a new connection (the plan's confirm command, with the
/// confirmation as its remote command); when that fails, asks the target over the master
/// connection whether it rolled back.
async fn confirm(
    ctx: &Context,
    step: &Step,
    activation: &Activation,
    sink: &Sink<'_>,
) -> Result<StepOutput, StepFailure> {
    let failed = StepFailure::Failed;
    let Some(command) = step.commands.first() else {
        return Ok(StepOutput::Nothing);
    };
    let mut argv = fill_toplevel(command, None).map_err(failed)?;
    if let Some(last) = argv.last_mut() {
        *last = command_line(&activation.confirm_argv());
    }
    let argv = local_argv(argv, &ctx.connections.options().args(), &ctx.exe);
    let finished = process::run(&argv, &nix_sshopts(ctx), sink, false, None)
        .await
        .map_err(failed)?;
    if finished.status.success() {
        sink.note("# confirmed over a new connection");
        return Ok(StepOutput::Nothing);
    }
    sink.note(&format!(
        "# no confirmation over a new connection ({}); asking the target over the existing one",
        finished.status
    ));
    let unconfirmed = format!(
        "unconfirmed: a new ssh connection failed; the target rolls back by itself {} s after \
         activation",
        activation.timeout_secs
    );
    let Ok(session) = ctx.connections.session(&activation.target, sink.log).await else {
        return Err(failed(unconfirmed));
    };
    let argv = ctx
        .connections
        .remote_argv(&session, &command_line(&activation.waiter_argv()));
    let wait = Duration::from_secs(activation.timeout_secs + 300);
    let shown = format!(
        "ssh {}: wait for the activation agent's result",
        activation.target
    );
    let waiting = process::run(&argv, &[], sink, true, Some(&shown));
    let result = match tokio::time::timeout(wait, waiting).await {
        Ok(Ok(finished)) => rollback::parse_result(&finished.stdout),
        _ => None,
    };
    match result {
        Some(AgentResult::RolledBack) => Err(StepFailure::RolledBack(
            "no confirmation over a new connection: the target rolled back".to_string(),
        )),
        Some(AgentResult::Confirmed) => Ok(StepOutput::Nothing),
        Some(AgentResult::RollbackFailed | AgentResult::NothingToRollBack) => Err(failed(
            "no confirmation over a new connection, and the target could not roll back".to_string(),
        )),
        _ => Err(failed(unconfirmed)),
    }
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

    #[test]
    fn reads_the_source_path_of_flake_metadata_and_archive() {
        assert_eq!(
            source_path(
                r#"{"description":"x","path":"/nix/store/abc-source","locks":{"nodes":{}}}"#
            )
            .unwrap(),
            "/nix/store/abc-source"
        );
        assert_eq!(
            source_path(r#"{"path":"/nix/store/abc-source","inputs":{}}"#).unwrap(),
            "/nix/store/abc-source"
        );
        assert!(source_path(r#"{"path":"relative"}"#).is_err());
        assert!(source_path("").is_err());
    }
}
