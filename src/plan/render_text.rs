//! The plan as text, like `terraform plan`: machines by wave with what each step will run,
//! the cross-machine orderings, skipped machines and why; and the flat command list
//! `clanc apply --dry-run` prints.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::step::shown_line;
use super::{Plan, Step, StepJson, StepKind, SystemDiff};
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
    if let Some(report) = &plan.changed {
        out.push_str(&report.text());
    }
    diff_counts(&mut out, plan);

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
            if let Some(diff) = &machine.diff {
                diff_lines(&mut out, diff);
            }
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
            if let Some(diff) = &m.diff {
                diff_lines(&mut out, diff);
            }
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

/// `clanc plan --diff`'s count: `diff: 1 unchanged, 2 changed, 0 unknown`.
fn diff_counts(out: &mut String, plan: &Plan) {
    let diffs: Vec<&SystemDiff> = plan
        .machines
        .values()
        .filter_map(|m| m.diff.as_ref())
        .collect();
    if diffs.is_empty() {
        return;
    }
    let count = |f: fn(&SystemDiff) -> bool| diffs.iter().filter(|d| f(d)).count();
    let _ = writeln!(
        out,
        "diff: {} unchanged, {} changed, {} unknown",
        count(|d| matches!(d, SystemDiff::Unchanged { .. })),
        count(|d| matches!(d, SystemDiff::Changed { .. })),
        count(|d| matches!(d, SystemDiff::Unknown { .. })),
    );
}

/// What a machine gets, under its line: unchanged, the closure's changes as
/// `nix store diff-closures` prints them, or unknown and why.
fn diff_lines(out: &mut String, diff: &SystemDiff) {
    match diff {
        SystemDiff::Unchanged { system } => {
            let _ = writeln!(
                out,
                "    diff: unchanged, {system} runs already (apply skips its activation)"
            );
        }
        SystemDiff::Changed {
            running,
            new,
            packages,
            unparsed,
            note,
        } => {
            let _ = writeln!(out, "    diff: {}", diff.summary());
            let _ = writeln!(out, "      running {running}\n      new     {new}");
            for package in packages {
                let _ = writeln!(out, "      {}", package.line());
            }
            for line in unparsed {
                let _ = writeln!(out, "      {line}");
            }
            if let Some(note) = note {
                let _ = writeln!(out, "      note: {note}");
            }
        }
        SystemDiff::Unknown { reason } => {
            let _ = writeln!(out, "    diff: unknown, {reason}");
        }
    }
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
