//! The plan as text, like `terraform plan`: machines by wave with what each step will run,
//! the cross-machine orderings, skipped machines and why; and the flat command list
//! `clanc apply --dry-run` prints.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::step::shown_line;
use super::{Plan, Step, StepJson, StepKind};
use crate::diagnostics::Code;

fn describe(step: &Step) -> String {
    step.commands
        .iter()
        .map(|c| shown_line(c))
        .collect::<Vec<_>>()
        .join("\n      && ")
}

pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let skipped: Vec<_> = plan
        .machines
        .values()
        .filter(|m| m.skipped.is_some())
        .collect();
    let _ = writeln!(
        out,
        "clanc plan: goal {}, {} machine(s): {} to act on, {} skipped; {} step(s)",
        plan.goal.as_str(),
        plan.machines.len(),
        plan.machines.len() - skipped.len(),
        skipped.len(),
        plan.steps.len()
    );
    let _ = writeln!(out, "fingerprint {}", plan.fingerprint.digest);

    let mut by_machine: BTreeMap<Option<&str>, Vec<&Step>> = BTreeMap::new();
    for step in &plan.steps {
        by_machine
            .entry(step.machine.as_deref())
            .or_default()
            .push(step);
    }
    if let Some(shared) = by_machine.get(&None) {
        let _ = writeln!(out, "\nShared vars to generate");
        for step in shared {
            let _ = writeln!(out, "  {}\n      {}", step.id, describe(step));
        }
    }
    for (i, wave) in plan.ordering.waves.iter().enumerate() {
        let _ = writeln!(out, "\nWave {}", i + 1);
        for name in wave {
            let Some(machine) = plan.machines.get(name) else {
                continue;
            };
            let class = machine.class.map_or("?", |c| c.as_str());
            let target = machine.target_host.as_deref().unwrap_or("-");
            let built = machine
                .build_host
                .as_deref()
                .map_or("built here".to_string(), |b| format!("built on {b}"));
            let _ = writeln!(out, "  {name} ({class}) -> {target}, {built}");
            for step in by_machine.get(&Some(name.as_str())).into_iter().flatten() {
                let label = match step.kind {
                    StepKind::GenerateVars => {
                        step.id.rsplit('/').next().unwrap_or(&step.id).to_string()
                    }
                    _ => String::new(),
                };
                let waits: Vec<&String> = step
                    .after
                    .iter()
                    .filter(|a| {
                        !a.ends_with(&format!(":{name}")) && !a.contains(&format!(":{name}/"))
                    })
                    .collect();
                let mut head = format!("    {} {label}", step.kind.as_str());
                head = head.trim_end().to_string();
                let _ = write!(out, "{head} [{}]", step.host);
                if !waits.is_empty() {
                    let list: Vec<&str> = waits.iter().map(|w| w.as_str()).collect();
                    let _ = write!(out, " after {}", list.join(", "));
                }
                let _ = writeln!(out, "\n      {}", describe(step));
            }
        }
    }
    if !plan.ordering.edges.is_empty() {
        let _ = writeln!(out, "\nOrdering (activations)");
        let mut grouped: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
        for edge in &plan.ordering.edges {
            grouped
                .entry((edge.before.clone(), edge.reason.to_string()))
                .or_default()
                .push(&edge.after);
        }
        for ((before, reason), afters) in grouped {
            let _ = writeln!(out, "  {before} before {} ({reason})", afters.join(", "));
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(out, "\nSkipped");
        for m in skipped {
            let _ = writeln!(
                out,
                "  {}: {}",
                m.name,
                m.skipped.as_deref().unwrap_or_default()
            );
        }
    }
    // Skipped machines (P001) are listed above.
    let notes: Vec<_> = plan
        .diagnostics
        .iter()
        .filter(|d| d.code != Code::P001)
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nDiagnostics");
        for d in notes {
            let _ = writeln!(out, "  {}[{}]: {}", d.severity.as_str(), d.code, d.message);
        }
    }
    out
}

/// Every command in run order, one per line, prefixed with its step and host:
/// `[activate:web-1] root@web-1.example.org: nix-env ...`.
pub fn render_commands(steps: &[StepJson]) -> String {
    let mut out = String::new();
    for step in steps {
        for argv in &step.argv {
            let _ = writeln!(out, "[{}] {}: {}", step.id, step.host, shown_line(argv));
        }
    }
    out
}
