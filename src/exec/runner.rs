//! Runs a plan's steps: each after the steps it waits for (`after`), at most `parallel`
//! at once, activations started in plan order. A failed step fails its machine: the rest of
//! that machine's steps and every step waiting on a failed or skipped one are skipped;
//! independent machines go on (`fail_fast` starts nothing more after the first failure).
//! Plain std threads, one per running step, report back over a channel: the steps are
//! external processes, so threads cost nothing tokio would save at fleet sizes (`--parallel`
//! bounds them).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::algo::toposort;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::plan::{Step, StepKind};

use super::log::{clock, machine_log};
use super::process::{Context, run_step};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed(String),
    Skipped(String),
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub parallel: usize,
    pub fail_fast: bool,
    pub log_dir: PathBuf,
}

/// What happened to every step.
#[derive(Debug)]
pub struct RunResult {
    pub states: Vec<StepState>,
    /// (start, end) of each step that ran.
    pub times: Vec<Option<(Instant, Instant)>>,
    /// Machine -> its built store path.
    pub built: HashMap<String, String>,
}

fn progress(line: &str) {
    println!("{} {line}", clock());
}

/// Checks that the steps form a graph `run` can order: every `after` names a step, no cycle.
pub fn validate(steps: &[Step]) -> Result<(), String> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let mut ids: HashMap<&str, NodeIndex> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        if ids.insert(step.id.as_str(), graph.add_node(i)).is_some() {
            return Err(format!("step {} appears twice", step.id));
        }
    }
    for step in steps {
        for before in &step.after {
            let Some(&from) = ids.get(before.as_str()) else {
                return Err(format!("step {} waits for unknown step {before}", step.id));
            };
            graph.add_edge(from, ids[step.id.as_str()], ());
        }
    }
    toposort(&graph, None).map(|_| ()).map_err(|cycle| {
        format!(
            "the plan's steps form a cycle at step {}",
            steps[graph[cycle.node_id()]].id
        )
    })
}

fn activation(step: &Step) -> bool {
    matches!(step.kind, StepKind::Activate | StepKind::Confirm)
}

/// Runs `steps` (in a run order that respects `after`; see [`validate`]).
pub fn run(steps: &[Step], ctx: Arc<Context>, options: &RunOptions) -> RunResult {
    let n = steps.len();
    let index: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let deps: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| {
            s.after
                .iter()
                .filter_map(|a| index.get(a.as_str()).copied())
                .collect()
        })
        .collect();
    let mut states = vec![StepState::Pending; n];
    let mut times = vec![None; n];
    let mut starts: Vec<Option<Instant>> = vec![None; n];
    let mut built: HashMap<String, String> = HashMap::new();
    let mut failed_machines: HashMap<String, String> = HashMap::new();
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, Result<Option<String>, String>)>();
    let mut running = 0usize;
    let mut any_failed = false;
    loop {
        // Skip what can no longer run.
        for i in 0..n {
            if states[i] != StepState::Pending {
                continue;
            }
            let why = if let Some(d) = deps[i]
                .iter()
                .find(|&&d| matches!(states[d], StepState::Failed(_) | StepState::Skipped(_)))
            {
                Some(format!("{} did not succeed", steps[*d].id))
            } else if let Some(m) = steps[i]
                .machine
                .as_ref()
                .filter(|m| failed_machines.contains_key(*m))
            {
                Some(format!("machine {m} failed"))
            } else if options.fail_fast && any_failed {
                Some("--fail-fast: a step failed".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                progress(&format!("{} skipped: {why}", steps[i].id));
                states[i] = StepState::Skipped(why);
            }
        }
        // Start what is ready.
        let mut activation_waiting = false;
        for i in 0..n {
            if running >= options.parallel.max(1) {
                break;
            }
            if states[i] != StepState::Pending {
                continue;
            }
            let step = &steps[i];
            let ready = deps[i].iter().all(|&d| states[d] == StepState::Done);
            if activation(step) {
                if activation_waiting || !ready {
                    activation_waiting = true;
                    continue;
                }
            } else if !ready {
                continue;
            }
            states[i] = StepState::Running;
            starts[i] = Some(Instant::now());
            running += 1;
            progress(&format!("{} started", step.id));
            let toplevel = step.machine.as_ref().and_then(|m| built.get(m)).cloned();
            let log = machine_log(&options.log_dir, step.machine.as_deref());
            let (tx, ctx, step) = (tx.clone(), ctx.clone(), step.clone());
            std::thread::spawn(move || {
                let result = run_step(&ctx, &step, toplevel.as_deref(), &log);
                let _ = tx.send((i, result));
            });
        }
        if running == 0 {
            // Nothing runs and nothing could start: every step is settled.
            for state in states.iter_mut().filter(|s| **s == StepState::Pending) {
                *state = StepState::Skipped("never became ready".to_string());
            }
            break;
        }
        let Ok((i, result)) = rx.recv() else { break };
        running -= 1;
        let end = Instant::now();
        let start = starts[i].unwrap_or(end);
        times[i] = Some((start, end));
        let took = secs(end - start);
        match result {
            Ok(path) => {
                if let (Some(path), Some(m)) = (path, &steps[i].machine) {
                    built.insert(m.clone(), path);
                }
                progress(&format!("{} ok ({took})", steps[i].id));
                states[i] = StepState::Done;
            }
            Err(e) => {
                progress(&format!("{} FAILED ({took}): {e}", steps[i].id));
                any_failed = true;
                if let Some(m) = &steps[i].machine {
                    failed_machines.insert(m.clone(), e.clone());
                }
                states[i] = StepState::Failed(e);
            }
        }
    }
    RunResult {
        states,
        times,
        built,
    }
}

/// `1.2s`.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
