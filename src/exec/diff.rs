//! `clanc plan --diff` on the targets: runs the steps of [`crate::plan::diff_steps`] (the
//! plan's build, a copy to the target, the diff step) like `apply` runs a plan, and reads
//! what each machine gets. The diff step ([`compare`]) reads the running system, the new one
//! and the profile with the plan's `readlink -f` commands and, unless the machine is
//! unchanged (`plan::diff::is_unchanged`), runs the plan's `nix store diff-closures`. Whatever
//! cannot be found out is `unknown`, with the reason: never `unchanged`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::deploy_target::DeployTarget;
use crate::plan::diff::{CURRENT_SYSTEM, is_unchanged, parse_diff_closures, strip_ansi};
use crate::plan::{Step, StepKind, SystemDiff};

use super::command::{fill_systems, fill_toplevel, remote_line};
use super::process::{self, Sink};
use super::runner::{RunResult, StepState};
use super::ssh::SshOptions;
use super::step::{Context, StepFailure, StepOutput};
use super::{Settings, run_steps};

/// What `clanc plan --diff` passes down.
pub struct DiffOptions {
    pub parallel: usize,
    pub ssh: SshOptions,
    /// `-v`: plain lines with every command's output, also on a terminal.
    pub verbose: bool,
}

/// What the diff run found.
pub struct Diffed {
    /// Machine -> what it gets, for every machine with a diff step.
    pub diffs: BTreeMap<String, SystemDiff>,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
}

/// Runs `steps` (from `plan::diff_steps`); progress and the log directory go to stderr (the
/// plan goes to stdout). Err: the run could not start.
pub fn diff(clan: &Path, steps: &[Step], options: &DiffOptions) -> Result<Diffed, String> {
    let settings = Settings {
        parallel: options.parallel,
        fail_fast: false,
        ssh: options.ssh.clone(),
        rollback: false,
        confirm_timeout_secs: 0,
        verbose: options.verbose,
        lines_to_stderr: true,
    };
    let (result, log_dir) = run_steps(clan, steps, &settings, |line| eprintln!("{line}"))?;
    let mut diffs = BTreeMap::new();
    for step in steps.iter().filter(|s| s.kind == StepKind::Diff) {
        let Some(machine) = &step.machine else {
            continue;
        };
        let diff = match result.compared.get(machine) {
            Some(diff) => diff.clone(),
            None => SystemDiff::unknown(why_not(steps, &result, machine, &log_dir)),
        };
        diffs.insert(machine.clone(), diff);
    }
    Ok(Diffed {
        diffs,
        interrupted: result.interrupted,
    })
}

/// Why a machine's diff step found nothing: its first failed step, else its first skipped one.
fn why_not(steps: &[Step], result: &RunResult, machine: &str, log_dir: &Path) -> String {
    let log = super::log::machine_log(log_dir, Some(machine));
    let mine = || {
        steps
            .iter()
            .zip(&result.states)
            .filter(move |(s, _)| s.machine.as_deref() == Some(machine))
    };
    let failed = mine().find_map(|(s, state)| match state {
        StepState::Failed(why) | StepState::RolledBack(why) => Some((s, why)),
        _ => None,
    });
    if let Some((step, why)) = failed {
        // nix's own last error says more than an exit status
        let said = super::log::tail(&log, 40)
            .into_iter()
            .rev()
            .map(|l| strip_ansi(&l))
            .find(|l| l.starts_with("error:"))
            .map(|l| format!("; {}", l.trim_end()))
            .unwrap_or_default();
        return format!("{} failed: {why}{said} (log: {})", step.id, log.display());
    }
    let skipped = mine().find_map(|(s, state)| match state {
        StepState::Skipped(why) => Some((s, why)),
        _ => None,
    });
    match skipped {
        Some((step, why)) => format!("{} did not run: {why}", step.id),
        None => "the diff step reported nothing".to_string(),
    }
}

/// The first line a command printed when it succeeded.
async fn read_one(
    ctx: &Context,
    session: &openssh::Session,
    argv: &[String],
    sink: &Sink<'_>,
) -> Result<Option<String>, String> {
    let argv = ctx
        .connections
        .remote_argv(session, &remote_line(argv, &[]));
    let finished = process::run(&argv, &[], sink, true, None).await?;
    if finished.status.code() == Some(255) {
        return Err(format!("ssh failed ({})", finished.status));
    }
    Ok(finished
        .status
        .success()
        .then(|| finished.stdout.first().map(|l| l.trim().to_string()))
        .flatten()
        .filter(|l| !l.is_empty()))
}

/// The diff step on `target` (see `plan::diff::diff_commands` for its commands' order).
pub async fn compare(
    ctx: &Context,
    step: &Step,
    target: &DeployTarget,
    toplevel: Option<&str>,
    sink: &Sink<'_>,
) -> Result<StepOutput, StepFailure> {
    let failed = StepFailure::Failed;
    let Some(toplevel) = toplevel else {
        return Err(failed("no build step produced the new system".to_string()));
    };
    let [probes @ .., diff] = step.commands.as_slice() else {
        return Err(failed("the diff step has no commands".to_string()));
    };
    if !(2..=3).contains(&probes.len()) {
        return Err(failed(format!(
            "the diff step has {} commands (3 or 4 expected)",
            step.commands.len()
        )));
    }
    let session = ctx
        .connections
        .session(target, sink.log)
        .await
        .map_err(failed)?;
    let mut read = Vec::new();
    for probe in probes {
        let argv = fill_toplevel(probe, Some(toplevel)).map_err(failed)?;
        read.push(read_one(ctx, &session, &argv, sink).await.map_err(failed)?);
    }
    let store = Path::new(toplevel).parent();
    let in_store = |path: &Option<String>| {
        path.as_deref()
            .filter(|p| p.starts_with('/') && store.is_some() && Path::new(p).parent() == store)
            .map(str::to_string)
    };
    let shown = |path: &Option<String>| match path {
        Some(p) => format!("`{p}`"),
        None => "nothing".to_string(),
    };
    let Some(running) = in_store(&read[0]) else {
        return Ok(StepOutput::Compared(SystemDiff::unknown(format!(
            "the target runs no NixOS or nix-darwin system: `readlink -f {CURRENT_SYSTEM}` \
             printed {}, not a store path",
            shown(&read[0])
        ))));
    };
    let Some(new) = in_store(&read[1]) else {
        return Ok(StepOutput::Compared(SystemDiff::unknown(format!(
            "the new system is not in the target's store: `readlink -f {}` printed {}",
            probes[1].last().map_or("", String::as_str),
            shown(&read[1])
        ))));
    };
    let profile = read.get(2).map(|p| p.clone().unwrap_or_default());
    if is_unchanged(&running, &new, profile.as_deref(), toplevel) {
        sink.note(&format!("# {new} runs already: unchanged"));
        return Ok(StepOutput::Compared(SystemDiff::Unchanged { system: new }));
    }
    let argv = fill_systems(diff, &running, &new).map_err(failed)?;
    let argv = ctx
        .connections
        .remote_argv(&session, &remote_line(&argv, &[]));
    let finished = process::run(&argv, &[], sink, true, None)
        .await
        .map_err(failed)?;
    if !finished.status.success() {
        return Ok(StepOutput::Compared(SystemDiff::unknown(format!(
            "`nix store diff-closures` failed on the target ({}; see the log)",
            finished.status
        ))));
    }
    let (packages, unparsed) = parse_diff_closures(&finished.stdout.join("\n"));
    let note = (running == new).then(|| {
        let path = probes
            .get(2)
            .and_then(|p| p.last())
            .map_or("the profile", String::as_str);
        format!(
            "{new} runs already, but {path} is {}: the activation makes it the new system",
            shown(&read.get(2).cloned().flatten())
        )
    });
    Ok(StepOutput::Compared(SystemDiff::Changed {
        running,
        new,
        packages,
        unparsed,
        note,
    }))
}
