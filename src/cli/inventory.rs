//! `clanc inventory [DIR] [--json]`: the clan model as clan-core would resolve it: machines
//! with class, tags and deploy hosts, tags with their members, instances with their module
//! and, per role, the machines and tags it names and what they resolve to. With
//! `--why MACHINE`: the roles that machine has and the definitions that put it there
//! (`cli/why.rs`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value as Json, json};

use crate::analysis::AnalysisHost;
use crate::model::{Clan, Known, Spanned};

use super::exit;

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The clan directory (the one holding flake.nix)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Explain one machine: every role it has, and the definition that put it there
    /// (a `roles.<r>.machines.<m>` entry, or a tag and where the machine got it)
    #[arg(long, value_name = "MACHINE")]
    pub why: Option<String>,
}

pub fn run(args: &InventoryArgs) -> u8 {
    let lowered_before = crate::cache::lowered_files_kept_for(&args.dir, None);
    let host = match AnalysisHost::load_lowering_from(&args.dir, lowered_before) {
        Ok(host) => host,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let root = host.root().to_path_buf();
    let clan = host.model();
    let text = if let Some(machine) = &args.why {
        if !clan.machines.contains_key(machine)
            && clan.machine_names_unknown().is_none()
            && !clan.is_unknown()
        {
            let names: Vec<&str> = clan.machines.keys().map(String::as_str).collect();
            eprintln!(
                "error: no machine `{machine}` in the clan (its machines: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            );
            return exit::USAGE;
        }
        let why = clan.why(machine);
        let mut lines = super::why::Lines::new(&root);
        if args.json {
            let json = super::why::why_json(&why, &mut lines);
            let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
            text.push('\n');
            text
        } else {
            super::why::why_text(&why, &mut lines)
        }
    } else if args.json {
        let mut text = serde_json::to_string_pretty(&inventory_json(&clan)).unwrap_or_default();
        text.push('\n');
        text
    } else {
        inventory_table(&clan)
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).is_err() {
        return exit::USAGE;
    }
    for d in &clan.diagnostics {
        eprintln!(
            "{}: {} [{}] at {}",
            d.severity.as_str(),
            d.message,
            d.code,
            d.span.file
        );
    }
    if clan.diagnostics.is_empty() {
        exit::OK
    } else {
        exit::FOUND_ERRORS
    }
}

fn known<T>(value: &Known<T>, f: impl Fn(&T) -> Json) -> Json {
    match value {
        Known::Known(v) => f(v),
        Known::Unknown(reason) => json!({ "unknown": reason }),
    }
}

fn opt_string(value: &Option<Spanned<Known<String>>>) -> Json {
    match value {
        Some(s) => known(&s.value, |v| json!(v)),
        None => Json::Null,
    }
}

/// The model as JSON (the shape documented in `docs/model.md`).
pub fn inventory_json(clan: &Clan) -> Json {
    let meta = json!({
        "name": opt_string(&clan.meta.name),
        "domain": opt_string(&clan.meta.domain),
        "description": opt_string(&clan.meta.description),
    });
    let mut machines = Map::new();
    for (name, m) in &clan.machines {
        machines.insert(
            name.clone(),
            json!({
                "class": known(&m.class.value, |c| json!(c.as_str())),
                "tags": m.tags.iter().map(|t| t.value.clone()).collect::<Vec<_>>(),
                "targetHost": opt_string(&m.target_host),
                "buildHost": opt_string(&m.build_host),
                "description": opt_string(&m.description),
                "hostPlatform": opt_string(&m.host_platform),
                "generators": m.generators.keys().collect::<Vec<_>>(),
            }),
        );
    }
    let mut tags = Map::new();
    for (name, t) in &clan.tags {
        tags.insert(name.clone(), known(&t.members, |m| json!(m)));
    }
    let mut instances = Map::new();
    for (name, i) in &clan.instances {
        let mut roles = Map::new();
        for (r, role) in &i.roles {
            roles.insert(
                r.clone(),
                json!({
                    "machines": role.machines.keys().collect::<Vec<_>>(),
                    "tags": role.tags.iter().map(|t| t.value.clone()).collect::<Vec<_>>(),
                    "resolved": known(&role.resolved, |m| json!(m)),
                }),
            );
        }
        instances.insert(
            name.clone(),
            json!({
                "module": {
                    "name": known(&i.module_name.value, |v| json!(v)),
                    "input": opt_string(&i.module_input),
                },
                "roles": roles,
            }),
        );
    }
    json!({
        "meta": meta,
        "machines": machines,
        "tags": tags,
        "instances": instances,
        "services": clan.flake_services.keys().collect::<Vec<_>>(),
        "unknown": clan
            .unknowns
            .iter()
            .map(|n| json!({ "subject": n.subject, "reason": n.reason }))
            .collect::<Vec<_>>(),
    })
}

fn show(value: &Option<Spanned<Known<String>>>) -> String {
    match value {
        Some(Spanned {
            value: Known::Known(v),
            ..
        }) => v.clone(),
        Some(Spanned {
            value: Known::Unknown(r),
            ..
        }) => format!("unknown ({r})"),
        None => "-".into(),
    }
}

fn list(items: &Known<Vec<String>>) -> String {
    match items {
        Known::Known(v) if v.is_empty() => "-".into(),
        Known::Known(v) => v.join(", "),
        Known::Unknown(r) => format!("unknown ({r})"),
    }
}

/// The model as a readable table.
pub fn inventory_table(clan: &Clan) -> String {
    let mut out = String::new();
    let name = show(&clan.meta.name);
    out.push_str(&format!(
        "clan {name}: {} machines, {} instances\n\n",
        clan.machines.len(),
        clan.instances.len()
    ));
    let rows: Vec<[String; 5]> = clan
        .machines
        .values()
        .map(|m| {
            [
                m.name.clone(),
                match &m.class.value {
                    Known::Known(c) => c.as_str().to_string(),
                    Known::Unknown(_) => "unknown".into(),
                },
                list(&Known::Known(
                    m.tags.iter().map(|t| t.value.clone()).collect(),
                )),
                show(&m.target_host),
                show(&m.build_host),
            ]
        })
        .collect();
    out.push_str(&table(
        &["MACHINE", "CLASS", "TAGS", "TARGET HOST", "BUILD HOST"],
        &rows,
    ));
    out.push('\n');
    let mut rows: Vec<[String; 5]> = Vec::new();
    for i in clan.instances.values() {
        let module = match (&i.module_name.value, &i.module_input) {
            (Known::Known(n), None) => n.clone(),
            (Known::Known(n), Some(input)) => format!("{n} ({})", show(&Some(input.clone()))),
            (Known::Unknown(r), _) => format!("unknown ({r})"),
        };
        for (r, role) in &i.roles {
            rows.push([
                i.name.clone(),
                module.clone(),
                r.clone(),
                list(&Known::Known(
                    role.tags.iter().map(|t| t.value.clone()).collect(),
                )),
                list(&role.resolved),
            ]);
        }
    }
    out.push_str(&table(
        &["INSTANCE", "MODULE", "ROLE", "TAGS", "MACHINES"],
        &rows,
    ));
    if !clan.unknowns.is_empty() {
        out.push_str(&format!(
            "\n{} values could not be known statically (see `clanc check --explain-unknown`)\n",
            clan.unknowns.len()
        ));
    }
    out
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == N {
                l.push_str(cell);
            } else {
                l.push_str(&format!("{cell:<w$}  ", w = *w));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}
