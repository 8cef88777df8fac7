//! The plan as a Mermaid flowchart (for Markdown that renders it): one subgraph per machine,
//! an edge for every `after`. Node ids are positional (`s0`, `s1`, ...); labels carry the ids.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use super::diff::label_lines;
use super::{Plan, Step};

fn label(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "#quot;"))
}

pub fn render_mermaid(plan: &Plan) -> String {
    let ids: HashMap<&str, String> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), format!("s{i}")))
        .collect();
    let mut by_machine: BTreeMap<Option<&str>, Vec<&Step>> = BTreeMap::new();
    for step in &plan.steps {
        by_machine
            .entry(step.machine.as_deref())
            .or_default()
            .push(step);
    }
    let mut out = String::from("flowchart LR\n");
    if let Some(report) = &plan.changed {
        let _ = writeln!(
            out,
            "  %% {}: {} machine(s) affected",
            report.title().replace('\n', " "),
            report.since.affected.len()
        );
    }
    let mut group = 0;
    for (machine, steps) in &by_machine {
        let indent = if let Some(name) = machine {
            group += 1;
            let mut title = vec![name.to_string()];
            if let Some(diff) = plan.machines.get(*name).and_then(|m| m.diff.as_ref()) {
                title.extend(label_lines(diff));
            }
            let _ = writeln!(out, "  subgraph m{group}[{}]", label(&title.join("<br/>")));
            "    "
        } else {
            "  "
        };
        for step in steps {
            let _ = writeln!(
                out,
                "{indent}{}[{}]",
                ids[step.id.as_str()],
                label(&step.id)
            );
        }
        if machine.is_some() {
            let _ = writeln!(out, "  end");
        }
    }
    for step in &plan.steps {
        for before in &step.after {
            if let Some(from) = ids.get(before.as_str()) {
                let _ = writeln!(out, "  {from} --> {}", ids[step.id.as_str()]);
            }
        }
    }
    out
}
