//! Executing a plan (`clanc apply`): the only code that starts processes. `runner` orders
//! and runs the steps on tokio, `step` runs one step, `process` one command, `command` turns
//! a plan argv into what runs (toplevel, ssh options, remote quoting by `crate::shell`, the
//! quoter the plan shows commands with), `ssh` holds the master sessions (openssh),
//! `rollback` the activation agent and magic rollback, `signal` Ctrl-C, `events` what the
//! runner reports and `progress` shows, `log` the run's files and clock, `summary` the final
//! table, `upload` sends secrets to a target, `install` runs nixos-anywhere,
//! `vars_generator` a vars generator's script (in bubblewrap), `git` commits generated vars,
//! `diff` runs `clanc plan --diff` (builds, then the running system against the new one).
//! The rest of clanc stays synchronous: [`apply`] builds a runtime and blocks on it.

mod command;
mod diff;
mod events;
pub mod final_script;
pub mod git;
mod install;
mod log;
mod process;
mod progress;
mod rollback;
mod runner;
mod signal;
mod ssh;
mod step;
mod summary;
mod upload;
pub mod vars_generate;
pub mod vars_generator;

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use crate::plan::Step;
use crate::plan::select::Goal;

pub use crate::shell::{command_line, quote_word};
pub use command::{fill, fill_toplevel, local_argv, remote_line};
pub use diff::{DiffOptions, Diffed, diff};
pub use install::{
    Install, PARTITIONING_SECRETS_DIR, commit_file, find_on_path, nixos_anywhere_argv,
    nixos_anywhere_key, phases_to_run, run_nixos_anywhere, user_config_dir,
};
pub use runner::{RunOptions, StepState, validate};
pub use ssh::SshOptions;
pub use summary::MachineRow;
pub use upload::{DEFAULT_UPLOAD_DIR, check_upload_dir, upload_archive};

/// What `clanc apply` passes down.
pub struct ApplyOptions {
    pub parallel: usize,
    pub fail_fast: bool,
    pub ssh: SshOptions,
    /// Magic rollback (for goals that confirm: switch, test); `--no-rollback` turns it off.
    pub rollback: bool,
    /// `--confirm-timeout`: how long a target waits for its confirmation.
    pub confirm_timeout_secs: u64,
    /// `-v`: plain lines with every command's output, even on a terminal.
    pub verbose: bool,
}

/// The outcome of a run.
pub struct Applied {
    pub rows: Vec<MachineRow>,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
}

/// Runs `steps` of a plan made from the clan at `clan`; shows progress and the summary.
/// Err: the run could not start (bad plan, unwritable logs, no runtime).
pub fn apply(
    clan: &Path,
    goal: Goal,
    steps: &[Step],
    skipped_by_plan: &BTreeMap<String, String>,
    options: &ApplyOptions,
) -> Result<Applied, String> {
    let settings = Settings {
        parallel: options.parallel,
        fail_fast: options.fail_fast,
        ssh: options.ssh.clone(),
        rollback: options.rollback && goal.confirms(),
        confirm_timeout_secs: options.confirm_timeout_secs,
        verbose: options.verbose,
        lines_to_stderr: false,
    };
    let (result, log_dir) = run_steps(clan, steps, &settings, |line| println!("{line}"))?;
    let rows = summary::rows(steps, &result, goal, skipped_by_plan);
    print!("\n{}", summary::render(&rows, &log_dir));
    Ok(Applied {
        rows,
        interrupted: result.interrupted,
    })
}

/// How a run goes (what `apply` and `diff` share).
struct Settings {
    parallel: usize,
    fail_fast: bool,
    ssh: SshOptions,
    /// Magic rollback for the run's activations.
    rollback: bool,
    confirm_timeout_secs: u64,
    verbose: bool,
    /// Progress lines go to stderr (stdout carries a result).
    lines_to_stderr: bool,
}

/// Runs `steps` with progress on stderr and logs under the clan's `.clanc/logs/<run-id>/`;
/// `announce` gets the line saying where the logs go. Err: the run could not start.
fn run_steps(
    clan: &Path,
    steps: &[Step],
    settings: &Settings,
    announce: impl Fn(&str),
) -> Result<(runner::RunResult, std::path::PathBuf), String> {
    validate(steps)?;
    let run_id = log::run_id();
    let log_dir = log::run_dir(clan, &run_id);
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create `{}`: {e}", log_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the executor: {e}"))?;
    runtime.block_on(async {
        let interrupts = signal::listen().map_err(|e| format!("cannot catch Ctrl-C: {e}"))?;
        let connections = ssh::Connections::new(settings.ssh.clone())
            .map_err(|e| format!("cannot create the ssh control directory: {e}"))?;
        let exe = std::env::current_exe()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "clanc".to_string());
        let ctx = Arc::new(step::Context {
            connections,
            exe,
            rollback: settings.rollback,
            confirm_timeout_secs: settings.confirm_timeout_secs,
        });
        announce(&format!(
            "{} run {run_id}: logs in {}",
            log::clock(),
            log_dir.display()
        ));
        let style = if settings.verbose || !std::io::stderr().is_terminal() {
            progress::Style::Lines {
                verbose: settings.verbose,
                stderr: settings.lines_to_stderr,
            }
        } else {
            progress::Style::Bars
        };
        let machines: BTreeSet<String> = steps
            .iter()
            .map(|s| s.machine.clone().unwrap_or_else(|| "shared".to_string()))
            .collect();
        let (events, received) = tokio::sync::mpsc::unbounded_channel();
        let display = tokio::spawn(progress::show(
            received,
            style,
            machines.into_iter().collect(),
        ));
        let result = runner::run(
            steps,
            ctx.clone(),
            &RunOptions {
                parallel: settings.parallel,
                fail_fast: settings.fail_fast,
                log_dir: log_dir.clone(),
            },
            events,
            interrupts,
        )
        .await;
        let _ = display.await;
        ctx.connections.close().await;
        Ok((result, log_dir))
    })
}
