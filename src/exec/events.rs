//! What the runner tells the display: steps starting and finishing, output lines, Ctrl-C.
//! Work and display are separate: the runner and the step tasks send these over a channel
//! and never print; `progress` consumes them.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::plan::StepKind;

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
    /// The target went back to the system it ran before (magic rollback).
    RolledBack(String),
    Skipped(String),
}

#[derive(Clone, Debug)]
pub enum Event {
    StepStarted {
        step: String,
        kind: StepKind,
        machine: Option<String>,
    },
    /// One line a step's command printed (or a line clanc adds to the machine's log).
    Output {
        machine: Option<String>,
        line: String,
    },
    StepFinished {
        step: String,
        machine: Option<String>,
        outcome: Outcome,
        took: Option<Duration>,
    },
    /// The first Ctrl-C: nothing new starts; `waiting` steps are let finish.
    Interrupted { waiting: Vec<String> },
    /// The second Ctrl-C: the running steps are killed.
    Aborting { killed: Vec<String> },
}

pub type Events = UnboundedSender<Event>;

/// Sends, ignoring a display that is gone (the run goes on without it).
pub fn send(events: &Events, event: Event) {
    let _ = events.send(event);
}
