//! Shows a run as it goes, from the runner's events (it never touches the work): on a
//! terminal an `indicatif` view with one line per machine (current step, elapsed time, last
//! log line); otherwise, or with `-v`, plain timestamped lines (`-v` adds every output line).

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use super::events::{Event, Outcome};
use super::log::clock;
use super::runner::secs;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// The multi-line view (stderr is a terminal, no `-v`).
    Bars,
    /// Timestamped lines on stdout (`stderr`: on stderr, where stdout carries a result);
    /// `verbose` adds the commands' output.
    Lines { verbose: bool, stderr: bool },
}

/// Consumes events until the runner drops its sender. `machines`: the lines of the view
/// (`shared` for steps of no machine).
pub async fn show(events: UnboundedReceiver<Event>, style: Style, machines: Vec<String>) {
    match style {
        Style::Lines { verbose, stderr } => lines(events, verbose, stderr).await,
        Style::Bars => bars(events, machines).await,
    }
}

fn took(d: Option<Duration>) -> String {
    d.map_or_else(String::new, |d| format!(" ({})", secs(d)))
}

/// The plain line for an event (None: not shown).
pub fn plain_line(event: &Event, verbose: bool) -> Option<String> {
    Some(match event {
        Event::StepStarted { step, .. } => format!("{step} started"),
        Event::Output { machine, line } if verbose => {
            format!("{} | {line}", machine.as_deref().unwrap_or("shared"))
        }
        Event::Output { .. } => return None,
        Event::StepFinished {
            step,
            outcome,
            took: t,
            ..
        } => match outcome {
            Outcome::Done => format!("{step} ok{}", took(*t)),
            Outcome::Failed(e) => format!("{step} FAILED{}: {e}", took(*t)),
            Outcome::RolledBack(e) => format!("{step} ROLLED BACK{}: {e}", took(*t)),
            Outcome::Skipped(why) => format!("{step} skipped: {why}"),
        },
        Event::Interrupted { waiting } => format!(
            "interrupted (Ctrl-C): starting nothing more{}; Ctrl-C again to abort",
            if waiting.is_empty() {
                String::new()
            } else {
                format!(", letting finish: {}", waiting.join(", "))
            }
        ),
        Event::Aborting { killed } => {
            format!("aborting (second Ctrl-C): killing {}", killed.join(", "))
        }
    })
}

async fn lines(mut events: UnboundedReceiver<Event>, verbose: bool, stderr: bool) {
    while let Some(event) = events.recv().await {
        if let Some(line) = plain_line(&event, verbose) {
            match stderr {
                true => eprintln!("{} {line}", clock()),
                false => println!("{} {line}", clock()),
            }
        }
    }
}

struct Line {
    bar: ProgressBar,
    step: String,
    last: String,
    started: bool,
    failed: bool,
}

impl Line {
    fn refresh(&self) {
        self.bar
            .set_message(format!("{}  {}", self.step, self.last));
    }
}

async fn bars(mut events: UnboundedReceiver<Event>, machines: Vec<String>) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let width = machines.iter().map(String::len).max().unwrap_or(0);
    let running = ProgressStyle::with_template(&format!(
        "{{spinner:.cyan}} {{prefix:{width}}} {{elapsed:>4}}  {{wide_msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let done = ProgressStyle::with_template(&format!(
        "  {{prefix:{width}}} {{elapsed:>4}}  {{wide_msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut view: BTreeMap<String, Line> = BTreeMap::new();
    for machine in machines {
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(running.clone());
        bar.set_prefix(machine.clone());
        bar.set_message("waiting");
        view.insert(
            machine,
            Line {
                bar,
                step: "waiting".into(),
                last: String::new(),
                started: false,
                failed: false,
            },
        );
    }
    let mut tick = tokio::time::interval(Duration::from_millis(120));
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = tick.tick() => {
                for line in view.values().filter(|l| l.started && !l.bar.is_finished()) {
                    line.bar.tick();
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        let key = |m: &Option<String>| m.clone().unwrap_or_else(|| "shared".to_string());
        match &event {
            Event::StepStarted { kind, machine, .. } => {
                if let Some(line) = view.get_mut(&key(machine)) {
                    if !line.started {
                        line.started = true;
                        line.bar.reset_elapsed();
                    }
                    line.step = kind.as_str().to_string();
                    line.refresh();
                }
            }
            Event::Output {
                machine,
                line: text,
            } => {
                if let Some(line) = view.get_mut(&key(machine)) {
                    line.last = text.trim().chars().take(200).collect();
                    line.refresh();
                }
            }
            Event::StepFinished {
                machine, outcome, ..
            } => {
                if let Some(line) = view.get_mut(&key(machine)) {
                    let end = match outcome {
                        Outcome::Done => None,
                        Outcome::Failed(e) => Some(format!("✗ failed at {}: {e}", line.step)),
                        Outcome::RolledBack(e) => Some(format!("↺ rolled back: {e}")),
                        Outcome::Skipped(why) if !line.failed => Some(format!("- skipped: {why}")),
                        Outcome::Skipped(_) => None,
                    };
                    if let Some(end) = end
                        && !line.bar.is_finished()
                    {
                        line.failed = true;
                        line.bar.set_style(done.clone());
                        line.bar.finish_with_message(end);
                    }
                }
            }
            Event::Interrupted { .. } | Event::Aborting { .. } => {
                if let Some(text) = plain_line(&event, false) {
                    let _ = multi.println(text);
                }
            }
        }
    }
    for line in view.values() {
        if !line.bar.is_finished() {
            line.bar.set_style(done.clone());
            line.bar.finish_with_message("✓ done");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_say_what_happened() {
        let finished = |outcome| Event::StepFinished {
            step: "activate:a".into(),
            machine: Some("a".into()),
            outcome,
            took: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            plain_line(&finished(Outcome::Done), false).unwrap(),
            "activate:a ok (1.5s)"
        );
        assert_eq!(
            plain_line(&finished(Outcome::RolledBack("why".into())), false).unwrap(),
            "activate:a ROLLED BACK (1.5s): why"
        );
        let output = Event::Output {
            machine: None,
            line: "x".into(),
        };
        assert_eq!(plain_line(&output, false), None);
        assert_eq!(plain_line(&output, true).unwrap(), "shared | x");
    }
}
