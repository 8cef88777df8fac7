//! The end of a run: one row per machine (result: switched (or the goal's word) / failed /
//! rolled back / skipped, duration, store path) and, for each machine that failed or rolled
//! back, the last 20 lines of its log.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::plan::Step;
use crate::plan::select::Goal;

use super::log::{machine_log, tail};
use super::runner::{RunResult, StepState, secs};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineRow {
    pub machine: String,
    /// switched / booted / tested / dry-activated / built / pushed / unchanged (activation
    /// skipped) / failed / rolled back / skipped (why).
    pub result: String,
    /// Did not succeed (failed, rolled back, or skipped because of a failure or Ctrl-C).
    pub failed: bool,
    /// Its log's tail goes under the table (failed or rolled back).
    pub show_log: bool,
    pub duration: String,
    pub store_path: String,
}

fn success_word(goal: Goal) -> &'static str {
    match goal {
        Goal::Switch => "switched",
        Goal::Boot => "booted",
        Goal::Test => "tested",
        Goal::DryActivate => "dry-activated",
        Goal::Build => "built",
        Goal::Push => "pushed",
    }
}

/// The rows: machines with steps by their steps' states; `skipped_by_plan` (machine ->
/// reason) as skipped.
pub fn rows(
    steps: &[Step],
    result: &RunResult,
    goal: Goal,
    skipped_by_plan: &BTreeMap<String, String>,
) -> Vec<MachineRow> {
    let mut machines: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        if let Some(m) = &step.machine {
            machines.entry(m).or_default().push(i);
        }
    }
    let mut rows = Vec::new();
    for (machine, indices) in machines {
        let states: Vec<&StepState> = indices.iter().map(|&i| &result.states[i]).collect();
        let (text, failed, show_log) =
            if states.iter().any(|s| matches!(s, StepState::RolledBack(_))) {
                ("rolled back".to_string(), true, true)
            } else if states.iter().any(|s| matches!(s, StepState::Failed(_))) {
                ("failed".to_string(), true, true)
            } else if let Some(StepState::Skipped(why)) =
                states.iter().find(|s| matches!(s, StepState::Skipped(_)))
            {
                (format!("skipped ({why})"), true, false)
            } else if result.unchanged.contains(machine) {
                ("unchanged (activation skipped)".to_string(), false, false)
            } else {
                (success_word(goal).to_string(), false, false)
            };
        let spans: Vec<(Instant, Instant)> =
            indices.iter().filter_map(|&i| result.times[i]).collect();
        let duration = match (
            spans.iter().map(|s| s.0).min(),
            spans.iter().map(|s| s.1).max(),
        ) {
            (Some(start), Some(end)) => secs(end - start),
            _ => "-".to_string(),
        };
        rows.push(MachineRow {
            machine: machine.to_string(),
            result: text,
            failed,
            show_log,
            duration,
            store_path: result.built.get(machine).cloned().unwrap_or("-".into()),
        });
    }
    for (machine, why) in skipped_by_plan {
        rows.push(MachineRow {
            machine: machine.clone(),
            result: format!("skipped ({why})"),
            failed: false,
            show_log: false,
            duration: "-".to_string(),
            store_path: "-".to_string(),
        });
    }
    rows
}

/// The table, then the tail of each failed machine's log.
pub fn render(rows: &[MachineRow], log_dir: &Path) -> String {
    let width = |f: fn(&MachineRow) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).len())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let wm = width(|r| &r.machine, "MACHINE");
    let wr = width(|r| &r.result, "RESULT");
    let wd = width(|r| &r.duration, "DURATION");
    let mut out = format!(
        "{:wm$}  {:wr$}  {:wd$}  STORE PATH\n",
        "MACHINE", "RESULT", "DURATION"
    );
    for r in rows {
        out.push_str(&format!(
            "{:wm$}  {:wr$}  {:wd$}  {}\n",
            r.machine, r.result, r.duration, r.store_path
        ));
    }
    for r in rows.iter().filter(|r| r.show_log) {
        let log = machine_log(log_dir, Some(&r.machine));
        out.push_str(&format!(
            "\n--- {}: last lines of {} ---\n",
            r.machine,
            log.display()
        ));
        for line in tail(&log, 20) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
