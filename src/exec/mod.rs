//! Executing a plan (`clanc apply`): the only code that starts processes. `runner` orders
//! and runs the steps, `process` runs one step's commands, `command` turns a plan argv into
//! what runs (toplevel, ssh options, remote quoting from `quote`), `ssh` holds the master
//! connections, `log` the run's files and clock, `summary` the final table, `upload` sends
//! secrets to a target, `install` runs nixos-anywhere.

mod command;
mod install;
mod log;
mod process;
mod quote;
mod runner;
mod ssh;
mod summary;
mod upload;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::plan::Step;
use crate::plan::select::Goal;

pub use command::remote_line;
pub use install::{Install, find_on_path, nixos_anywhere_argv, run_nixos_anywhere};
pub use quote::{command_line, quote_word};
pub use runner::{RunOptions, StepState, validate};
pub use ssh::SshOptions;
pub use summary::MachineRow;
pub use upload::{DEFAULT_UPLOAD_DIR, upload_archive};

/// What `clanc apply` passes down.
pub struct ApplyOptions {
    pub parallel: usize,
    pub fail_fast: bool,
    pub ssh: SshOptions,
}

/// The outcome of a run.
pub struct Applied {
    pub rows: Vec<MachineRow>,
    pub log_dir: std::path::PathBuf,
}

/// Runs `steps` of a plan made from the clan at `clan`; prints progress and the summary.
/// Err: the run could not start (bad plan, unwritable logs).
pub fn apply(
    clan: &Path,
    goal: Goal,
    steps: &[Step],
    skipped_by_plan: &BTreeMap<String, String>,
    options: &ApplyOptions,
) -> Result<Applied, String> {
    validate(steps)?;
    let run_id = log::run_id();
    let log_dir = log::run_dir(clan, &run_id);
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create `{}`: {e}", log_dir.display()))?;
    let connections = ssh::Connections::new(options.ssh.clone())
        .map_err(|e| format!("cannot create the ssh control directory: {e}"))?;
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "clanc".to_string());
    let ctx = Arc::new(process::Context { connections, exe });
    println!(
        "{} run {run_id}: logs in {}",
        log::clock(),
        log_dir.display()
    );
    let result = runner::run(
        steps,
        ctx.clone(),
        &RunOptions {
            parallel: options.parallel,
            fail_fast: options.fail_fast,
            log_dir: log_dir.clone(),
        },
    );
    ctx.connections.close();
    let rows = summary::rows(steps, &result, goal, skipped_by_plan);
    print!("\n{}", summary::render(&rows, &log_dir));
    Ok(Applied { rows, log_dir })
}
