//! Runs a plan's steps on tokio: each after the steps it waits for (`after`), at most
//! `parallel` at once (a semaphore; confirmations bypass it, their target is counting down),
//! activations started in plan order. A failed step fails its machine: the rest of that
//! machine's steps and every step waiting on a failed or skipped one are skipped; independent
//! machines go on (`fail_fast` starts nothing more after the first failure). The runner sends
//! events and never prints.
//!
//! Ctrl-C (`signal`): the first starts nothing new and kills running builds and copies (Nix
//! keeps its store consistent), but lets running activations, secret uploads and vars
//! generators finish, and confirms activations that finished (unconfirmed, they would roll
//! back); the second kills everything still running. An activation runs inside the agent on
//! its target, which completes it (and rolls it back when unconfirmed) whatever happens to
//! clanc.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use tokio::sync::{Semaphore, watch};
use tokio::task::{Id, JoinSet};

use crate::plan::{Step, StepKind, SystemDiff};

use super::events::{Event, Events, Outcome, send};
use super::log::machine_log;
use super::process::Sink;
use super::rollback::Activation;
use super::signal::Interrupt;
use super::step::{Context, Produced, StepFailure, StepOutput, run_step};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed(String),
    /// Failed, and the target went back to the system it ran before.
    RolledBack(String),
    Skipped(String),
}

impl StepState {
    fn unsuccessful(&self) -> bool {
        matches!(
            self,
            StepState::Failed(_) | StepState::RolledBack(_) | StepState::Skipped(_)
        )
    }
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
    /// Machines whose activation found the system running already (and activated nothing).
    pub unchanged: HashSet<String>,
    /// Machine -> what its diff step found (`clanc plan --diff`).
    pub compared: HashMap<String, SystemDiff>,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
}

/// Reason of the steps Ctrl-C kept from running.
pub const INTERRUPTED: &str = "interrupted";

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

/// Steps Ctrl-C does not kill: what they change must not be left half done.
fn finishes_when_interrupted(kind: StepKind) -> bool {
    !matches!(
        kind,
        StepKind::Build | StepKind::Copy | StepKind::UploadSources | StepKind::Diff
    )
}

/// How a step's task ended.
enum TaskEnd {
    /// Ctrl-C came while it waited for its turn.
    NotStarted,
    Ran(Instant, Result<StepOutput, StepFailure>),
}

struct Scheduler<'a> {
    steps: &'a [Step],
    deps: Vec<Vec<usize>>,
    states: Vec<StepState>,
    times: Vec<Option<(Instant, Instant)>>,
    built: HashMap<String, String>,
    sources: HashMap<String, String>,
    activations: HashMap<String, Activation>,
    unchanged: HashSet<String>,
    compared: HashMap<String, SystemDiff>,
    failed_machines: HashMap<String, String>,
    any_failed: bool,
    events: Events,
}

impl<'a> Scheduler<'a> {
    fn new(steps: &'a [Step], events: Events) -> Scheduler<'a> {
        let n = steps.len();
        Scheduler {
            steps,
            deps: dependencies(steps),
            states: vec![StepState::Pending; n],
            times: vec![None; n],
            built: HashMap::new(),
            sources: HashMap::new(),
            activations: HashMap::new(),
            unchanged: HashSet::new(),
            compared: HashMap::new(),
            failed_machines: HashMap::new(),
            any_failed: false,
            events,
        }
    }

    fn settle(&mut self, i: usize, state: StepState, took: Option<Duration>) {
        let outcome = match &state {
            StepState::Done => Outcome::Done,
            StepState::Failed(e) => Outcome::Failed(e.clone()),
            StepState::RolledBack(e) => Outcome::RolledBack(e.clone()),
            StepState::Skipped(why) => Outcome::Skipped(why.clone()),
            StepState::Pending | StepState::Running => return,
        };
        if matches!(state, StepState::Failed(_) | StepState::RolledBack(_)) {
            self.any_failed = true;
            if let Some(m) = &self.steps[i].machine {
                self.failed_machines
                    .entry(m.clone())
                    .or_insert_with(|| self.steps[i].id.clone());
            }
        }
        self.states[i] = state;
        send(
            &self.events,
            Event::StepFinished {
                step: self.steps[i].id.clone(),
                machine: self.steps[i].machine.clone(),
                outcome,
                took,
            },
        );
    }

    /// A confirm step whose activation ran or runs: it must run even after Ctrl-C or
    /// `--fail-fast` (an unconfirmed activation rolls back).
    fn confirms_an_activation(&self, i: usize) -> bool {
        self.steps[i].kind == StepKind::Confirm
            && self.deps[i]
                .iter()
                .all(|&d| matches!(self.states[d], StepState::Done | StepState::Running))
    }

    /// Skips what can no longer run.
    fn skip_blocked(&mut self, fail_fast: bool, interrupt: Interrupt) {
        for i in 0..self.steps.len() {
            if self.states[i] != StepState::Pending {
                continue;
            }
            let why = if let Some(d) = self.deps[i]
                .iter()
                .find(|&&d| self.states[d].unsuccessful())
            {
                Some(format!("{} did not succeed", self.steps[*d].id))
            } else if let Some(m) = self.steps[i]
                .machine
                .as_ref()
                .filter(|m| self.failed_machines.contains_key(*m))
            {
                Some(format!("machine {m} failed"))
            } else if interrupt == Interrupt::Abort {
                Some(INTERRUPTED.to_string())
            } else if self.confirms_an_activation(i) {
                None
            } else if interrupt != Interrupt::None {
                Some(INTERRUPTED.to_string())
            } else if fail_fast && self.any_failed {
                Some("--fail-fast: a step failed".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                self.settle(i, StepState::Skipped(why), None);
            }
        }
    }
}

/// Runs `steps` (in a run order that respects `after`; see [`validate`]).
pub async fn run(
    steps: &[Step],
    ctx: Arc<Context>,
    options: &RunOptions,
    events: Events,
    mut interrupts: watch::Receiver<Interrupt>,
) -> RunResult {
    let mut s = Scheduler::new(steps, events.clone());
    let semaphore = Arc::new(Semaphore::new(options.parallel.max(1)));
    let mut tasks: JoinSet<(usize, TaskEnd)> = JoinSet::new();
    let mut task_of: HashMap<Id, usize> = HashMap::new();
    let mut handles: HashMap<usize, Handle> = HashMap::new();
    let mut interrupt = Interrupt::None;
    let mut listening = true;
    loop {
        s.skip_blocked(options.fail_fast, interrupt);
        // Start what is ready.
        for i in s.ready() {
            s.states[i] = StepState::Running;
            let task = s.task(i, &ctx, &options.log_dir, &semaphore, &interrupts);
            let started = task.started.clone();
            let handle = tasks.spawn(task.run());
            task_of.insert(handle.id(), i);
            handles.insert(
                i,
                Handle {
                    abort: handle,
                    started,
                },
            );
        }
        if tasks.is_empty() {
            // Nothing runs and nothing could start: every step is settled.
            for i in 0..steps.len() {
                if s.states[i] == StepState::Pending {
                    s.settle(i, StepState::Skipped("never became ready".into()), None);
                }
            }
            break;
        }
        let joined = tokio::select! {
            joined = tasks.join_next_with_id() => joined,
            changed = interrupts.changed(), if listening && interrupt != Interrupt::Abort => {
                if changed.is_err() {
                    // The listener is gone: no more Ctrl-C can come.
                    listening = false;
                    continue;
                }
                let now = *interrupts.borrow_and_update();
                if now > interrupt {
                    interrupt = now;
                    on_interrupt(&s, interrupt, &handles, &events);
                }
                continue;
            }
        };
        let Some(joined) = joined else { continue };
        let (i, end) = match joined {
            Ok((_, (i, end))) => (i, Some(end)),
            Err(e) => match task_of.get(&e.id()) {
                Some(&i) => (i, None),
                None => continue,
            },
        };
        let started = handles
            .remove(&i)
            .is_some_and(|h| h.started.load(Ordering::SeqCst));
        s.settle_task(i, end, started, interrupt);
    }
    RunResult {
        states: s.states,
        times: s.times,
        built: s.built,
        unchanged: s.unchanged,
        compared: s.compared,
        interrupted: interrupt != Interrupt::None,
    }
}

/// Each step's `after`, as indices of the steps it waits for.
fn dependencies(steps: &[Step]) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    steps
        .iter()
        .map(|s| {
            s.after
                .iter()
                .filter_map(|a| index.get(a.as_str()).copied())
                .collect()
        })
        .collect()
}

impl Scheduler<'_> {
    /// The pending steps whose dependencies are done, in plan order; activations start in
    /// plan order (none while an earlier one still waits).
    fn ready(&self) -> Vec<usize> {
        let mut ready_steps = Vec::new();
        let mut activation_waiting = false;
        for (i, step) in self.steps.iter().enumerate() {
            if self.states[i] != StepState::Pending {
                continue;
            }
            let ready = self.deps[i]
                .iter()
                .all(|&d| self.states[d] == StepState::Done);
            if activation(step) {
                if step.kind == StepKind::Activate && (activation_waiting || !ready) {
                    activation_waiting = true;
                    continue;
                }
                if !ready {
                    continue;
                }
            } else if !ready {
                continue;
            }
            ready_steps.push(i);
        }
        ready_steps
    }

    /// The task of step `i`, with what its machine's earlier steps produced.
    fn task(
        &self,
        i: usize,
        ctx: &Arc<Context>,
        log_dir: &Path,
        semaphore: &Arc<Semaphore>,
        interrupts: &watch::Receiver<Interrupt>,
    ) -> StepTask {
        let step = &self.steps[i];
        let machine = step.machine.clone();
        let toplevel = machine.as_ref().and_then(|m| self.built.get(m)).cloned();
        let source = machine.as_ref().and_then(|m| self.sources.get(m)).cloned();
        let confirming = machine
            .as_ref()
            .and_then(|m| self.activations.get(m))
            .cloned();
        StepTask {
            i,
            step: step.clone(),
            ctx: ctx.clone(),
            toplevel,
            source,
            confirming,
            log: machine_log(log_dir, machine.as_deref()),
            events: self.events.clone(),
            semaphore: semaphore.clone(),
            interrupts: interrupts.clone(),
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Settles step `i`, whose task ended: `end` is `None` when the task was aborted (or
    /// failed), `started` whether it had got its turn.
    fn settle_task(&mut self, i: usize, end: Option<TaskEnd>, started: bool, interrupt: Interrupt) {
        let now = Instant::now();
        match end {
            None if !started => self.settle(i, StepState::Skipped(INTERRUPTED.into()), None),
            None if interrupt == Interrupt::Abort => self.settle(
                i,
                StepState::Failed(aborted_reason(self.steps[i].kind)),
                None,
            ),
            None if interrupt == Interrupt::Stop => {
                self.settle(i, StepState::Skipped(INTERRUPTED.into()), None)
            }
            None => self.settle(i, StepState::Failed("the step's task failed".into()), None),
            Some(TaskEnd::NotStarted) => {
                self.settle(i, StepState::Skipped(INTERRUPTED.into()), None)
            }
            Some(TaskEnd::Ran(start, result)) => {
                self.times[i] = Some((start, now));
                let took = Some(now - start);
                match result {
                    Ok(output) => {
                        self.keep_output(i, output);
                        self.settle(i, StepState::Done, took);
                    }
                    Err(StepFailure::Failed(e)) => self.settle(i, StepState::Failed(e), took),
                    Err(StepFailure::RolledBack(e)) => {
                        self.settle(i, StepState::RolledBack(e), took)
                    }
                }
            }
        }
    }

    /// Keeps what step `i` produced for its machine's later steps.
    fn keep_output(&mut self, i: usize, output: StepOutput) {
        if let Some(m) = &self.steps[i].machine {
            match output {
                StepOutput::Built(path) => {
                    self.built.insert(m.clone(), path);
                }
                StepOutput::Source(path) => {
                    self.sources.insert(m.clone(), path);
                }
                StepOutput::Activated(a) => {
                    self.activations.insert(m.clone(), a);
                }
                StepOutput::Unchanged => {
                    self.unchanged.insert(m.clone());
                }
                StepOutput::Compared(diff) => {
                    self.compared.insert(m.clone(), diff);
                }
                StepOutput::Nothing => {}
            }
        }
    }
}

/// One step's task: it waits for its turn (a confirmation does not), then runs the step.
struct StepTask {
    i: usize,
    step: Step,
    ctx: Arc<Context>,
    /// What the machine's earlier steps produced.
    toplevel: Option<String>,
    source: Option<String>,
    confirming: Option<Activation>,
    log: PathBuf,
    events: Events,
    semaphore: Arc<Semaphore>,
    interrupts: watch::Receiver<Interrupt>,
    /// Set when it got its turn.
    started: Arc<AtomicBool>,
}

impl StepTask {
    async fn run(self) -> (usize, TaskEnd) {
        let StepTask {
            i,
            step,
            ctx,
            toplevel,
            source,
            confirming,
            log,
            events,
            semaphore,
            interrupts,
            started,
        } = self;
        let _permit = if step.kind == StepKind::Confirm {
            None
        } else {
            semaphore.acquire_owned().await.ok()
        };
        if *interrupts.borrow() != Interrupt::None && step.kind != StepKind::Confirm {
            return (i, TaskEnd::NotStarted);
        }
        started.store(true, Ordering::SeqCst);
        send(
            &events,
            Event::StepStarted {
                step: step.id.clone(),
                kind: step.kind,
                machine: step.machine.clone(),
            },
        );
        let start = Instant::now();
        let sink = Sink {
            log: &log,
            machine: step.machine.as_deref(),
            events: &events,
        };
        let produced = Produced {
            toplevel: toplevel.as_deref(),
            source: source.as_deref(),
        };
        let result = run_step(ctx, &step, produced, confirming.as_ref(), &sink).await;
        (i, TaskEnd::Ran(start, result))
    }
}

fn aborted_reason(kind: StepKind) -> String {
    match kind {
        StepKind::Activate | StepKind::Confirm => "aborted (second Ctrl-C); the target \
            completes the activation on its own (and, with rollback on, rolls it back: \
            unconfirmed)"
            .to_string(),
        _ => "aborted (second Ctrl-C)".to_string(),
    }
}

/// A spawned step's task.
struct Handle {
    abort: tokio::task::AbortHandle,
    /// It got its turn and runs (else it still waits for the semaphore).
    started: Arc<AtomicBool>,
}

/// Ctrl-C: drops the steps still waiting for their turn and kills builds and copies
/// (first), or kills everything (second), and says what goes on. (The runtime has one
/// thread: no task starts while this runs.)
fn on_interrupt(
    s: &Scheduler<'_>,
    interrupt: Interrupt,
    handles: &HashMap<usize, Handle>,
    events: &Events,
) {
    let mut waiting = Vec::new();
    let mut killed = Vec::new();
    for (&i, handle) in handles {
        let started = handle.started.load(Ordering::SeqCst);
        let kind = s.steps[i].kind;
        if !started && kind != StepKind::Confirm {
            handle.abort.abort();
        } else if interrupt == Interrupt::Abort || !finishes_when_interrupted(kind) {
            handle.abort.abort();
            killed.push(s.steps[i].id.clone());
        } else {
            waiting.push(s.steps[i].id.clone());
        }
    }
    waiting.sort();
    killed.sort();
    match interrupt {
        Interrupt::Stop => send(events, Event::Interrupted { waiting }),
        Interrupt::Abort => send(events, Event::Aborting { killed }),
        Interrupt::None => {}
    }
}

/// `1.2s`.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
