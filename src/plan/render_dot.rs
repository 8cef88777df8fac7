//! The plan as a Graphviz graph: one cluster per machine inside one cluster per wave (waves
//! left to right), shared vars steps on their own, an edge for every `after`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::diff::label_lines;
use super::{Plan, Step, SystemDiff};

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// A machine's cluster label: its name, and with `--diff` what it gets (one line each).
fn machine_label(machine: &str, diff: Option<&SystemDiff>) -> String {
    let mut lines = vec![escape(machine)];
    if let Some(diff) = diff {
        lines.extend(label_lines(diff).iter().map(|l| escape(l)));
    }
    format!("\"{}\"", lines.join("\\n"))
}

fn node(out: &mut String, indent: &str, step: &Step) {
    let label = match step.id.split_once('/') {
        Some((_, generator)) => format!("{}\\n{generator}", step.kind.as_str()),
        None => step.kind.as_str().to_string(),
    };
    let _ = writeln!(
        out,
        "{indent}{} [label=\"{}\", tooltip={}];",
        quote(&step.id),
        label.replace('"', "\\\""),
        quote(&step.host.to_string())
    );
}

pub fn render_dot(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph plan {{");
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(
        out,
        "  label={};",
        quote(&match &plan.changed {
            None => format!("clanc plan: goal {}", plan.goal.as_str()),
            Some(report) => format!(
                "clanc plan: goal {}, {}: {} machine(s) affected",
                plan.goal.as_str(),
                report.title(),
                report.since.affected.len()
            ),
        })
    );
    let _ = writeln!(out, "  node [shape=box, fontname=\"monospace\"];");
    let mut by_machine: BTreeMap<Option<&str>, Vec<&Step>> = BTreeMap::new();
    for step in &plan.steps {
        by_machine
            .entry(step.machine.as_deref())
            .or_default()
            .push(step);
    }
    for step in by_machine.get(&None).into_iter().flatten() {
        node(&mut out, "  ", step);
    }
    let mut cluster = 0;
    for (i, wave) in plan.ordering.waves.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_wave_{} {{", i + 1);
        let _ = writeln!(out, "    label=\"wave {}\";", i + 1);
        let _ = writeln!(out, "    style=dashed;");
        for name in wave {
            cluster += 1;
            let _ = writeln!(out, "    subgraph cluster_{cluster} {{");
            let diff = plan.machines.get(name).and_then(|m| m.diff.as_ref());
            let _ = writeln!(out, "      label={};", machine_label(name, diff));
            let _ = writeln!(out, "      style=rounded;");
            for step in by_machine.get(&Some(name.as_str())).into_iter().flatten() {
                node(&mut out, "      ", step);
            }
            let _ = writeln!(out, "    }}");
        }
        let _ = writeln!(out, "  }}");
    }
    for step in &plan.steps {
        for before in &step.after {
            let cross = plan
                .steps
                .iter()
                .any(|s| &s.id == before && s.machine.is_some() && s.machine != step.machine);
            let style = if cross {
                " [style=bold, color=blue]"
            } else {
                ""
            };
            let _ = writeln!(out, "  {} -> {}{style};", quote(before), quote(&step.id));
        }
    }
    let _ = writeln!(out, "}}");
    out
}
