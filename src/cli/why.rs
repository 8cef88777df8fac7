//! `clanc inventory --why MACHINE [--json]`: the roles a machine has and the definitions that
//! put it there ([`crate::model::why`]), each with its file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::diagnostics::Span;
use crate::model::why::{
    Membership, Reason, TagSource, Why, narrow_json, reason_text, source_text,
};
use crate::model::{Known, MachineClass};
use crate::syntax::LineIndex;

/// Turns spans into `file:line` by reading the clan's files (each once).
pub struct Lines {
    root: PathBuf,
    files: HashMap<String, Option<(String, LineIndex)>>,
}

impl Lines {
    pub fn new(root: &Path) -> Lines {
        Lines {
            root: root.to_path_buf(),
            files: HashMap::new(),
        }
    }

    /// The 1-based line of the span's start (narrowed in `inventory.json` to `keys`), when
    /// its file can be read.
    pub fn line(&mut self, span: &Span, keys: &[&str]) -> Option<u32> {
        let root = &self.root;
        let entry = self.files.entry(span.file.to_string()).or_insert_with(|| {
            let text = std::fs::read_to_string(root.join(&*span.file)).ok()?;
            let index = LineIndex::new(&text);
            Some((text, index))
        });
        let (text, index) = entry.as_ref()?;
        let range = narrow_json(span, text, keys);
        Some(index.line_col(text, range.start()).line)
    }

    /// `file:line`, `file` alone when the line cannot be read, "no location" without a span.
    pub fn at(&mut self, span: &Option<Span>, keys: &[&str]) -> String {
        match span {
            Some(span) => match self.line(span, keys) {
                Some(line) => format!("{}:{line}", span.file),
                None => span.file.to_string(),
            },
            None => "no location".to_string(),
        }
    }

    fn json(&mut self, span: &Option<Span>, keys: &[&str]) -> Json {
        match span {
            Some(span) => json!({ "file": &*span.file, "line": self.line(span, keys) }),
            None => Json::Null,
        }
    }
}

fn class_text(class: &Option<Known<MachineClass>>) -> String {
    match class {
        Some(Known::Known(class)) => class.as_str().to_string(),
        Some(Known::Unknown(reason)) => format!("class unknown: {reason}"),
        None => "not defined".to_string(),
    }
}

/// The explanation as text.
pub fn why_text(why: &Why, lines: &mut Lines) -> String {
    let mut at = |span: &Option<Span>, keys: &[&str]| lines.at(span, keys);
    let machine = why.machine.as_str();
    let mut out = match &why.defined {
        Some(span) => format!(
            "machine {machine} ({}), defined at {}\n",
            class_text(&why.class),
            at(span, &[])
        ),
        None => format!("machine {machine}: no inventory source defines it\n"),
    };
    if let Some(reason) = &why.incomplete {
        out.push_str(&format!("incomplete: {reason}\n"));
    }
    out.push_str("\ntags:\n");
    if why.tags.is_empty() && why.tags_unknown.is_none() {
        out.push_str("  none\n");
    }
    let width = (why.tags.iter())
        .map(|t| t.tag.chars().count())
        .max()
        .unwrap_or(0);
    for tag in &why.tags {
        for (i, source) in tag.sources.iter().enumerate() {
            let name = if i == 0 { tag.tag.as_str() } else { "" };
            let text = source_text(machine, &tag.tag, source, &mut at);
            out.push_str(&format!("  {name:<width$}  {text}\n"));
        }
    }
    match &why.tags_unknown {
        Some(reason) if why.tags.is_empty() => out.push_str(&format!("  unknown: {reason}\n")),
        Some(reason) => out.push_str(&format!("  maybe more: {reason}\n")),
        None => {}
    }
    out.push_str("\nroles (instance/role):\n");
    match (why.roles.is_empty(), &why.incomplete) {
        (true, None) => out.push_str("  none\n"),
        (true, Some(_)) => out.push_str("  none known (incomplete)\n"),
        _ => {}
    }
    for role in &why.roles {
        let head = format!("  {}/{} ({})", role.instance, role.role, role.service);
        match &role.membership {
            Membership::Unknown(reason) => out.push_str(&format!("{head}: unknown: {reason}\n")),
            Membership::Certain(reasons) => {
                out.push_str(&format!("{head}\n"));
                for reason in reasons {
                    let text = reason_text(machine, &role.instance, &role.role, reason, &mut at);
                    out.push_str(&format!("    {text}\n"));
                    if let Reason::Tag { tag, sources, .. } = reason {
                        for source in sources {
                            let text = source_text(machine, tag, source, &mut at);
                            out.push_str(&format!("      {text}\n"));
                        }
                    }
                }
            }
        }
    }
    out
}

fn source_json(machine: &str, tag: &str, source: &TagSource, lines: &mut Lines) -> Json {
    match source {
        TagSource::Own(span) => json!({
            "kind": "own",
            "at": lines.json(span, &["machines", machine, "tags"]),
        }),
        TagSource::Listed(span) => json!({
            "kind": "inventory.tags",
            "at": lines.json(span, &["tags", tag]),
        }),
        TagSource::All(span) => json!({ "kind": "all", "at": lines.json(span, &[]) }),
        TagSource::Class(class, span) => json!({
            "kind": "class",
            "class": class.as_str(),
            "at": lines.json(span, &["machines", machine, "machineClass"]),
        }),
    }
}

fn sources_json(machine: &str, tag: &str, sources: &[TagSource], lines: &mut Lines) -> Json {
    (sources.iter())
        .map(|s| source_json(machine, tag, s, lines))
        .collect()
}

/// The explanation as JSON (version 1, documented in `docs/model.md`).
pub fn why_json(why: &Why, lines: &mut Lines) -> Json {
    let machine = why.machine.as_str();
    let tags: Vec<Json> = (why.tags.iter())
        .map(|t| json!({ "tag": t.tag, "sources": sources_json(machine, &t.tag, &t.sources, lines) }))
        .collect();
    let mut roles = Vec::new();
    for r in &why.roles {
        let (membership, reasons, unknown) = match &r.membership {
            Membership::Certain(reasons) => {
                let reasons: Vec<Json> = (reasons.iter())
                    .map(|reason| match reason {
                        Reason::Named(span) => {
                            json!({ "kind": "machines", "at": lines.json(span, &[]) })
                        }
                        Reason::Tag { tag, span, sources } => json!({
                            "kind": "tag",
                            "tag": tag,
                            "at": lines.json(span, &[]),
                            "sources": sources_json(machine, tag, sources, lines),
                        }),
                    })
                    .collect();
                ("certain", reasons, Json::Null)
            }
            Membership::Unknown(reason) => ("unknown", Vec::new(), json!(reason)),
        };
        roles.push(json!({
            "instance": r.instance,
            "role": r.role,
            "service": r.service,
            "membership": membership,
            "reasons": reasons,
            "unknown": unknown,
        }));
    }
    json!({
        "version": 1,
        "machine": machine,
        "defined": match &why.defined {
            Some(span) => json!({ "at": lines.json(span, &[]) }),
            None => Json::Null,
        },
        "class": match &why.class {
            Some(Known::Known(class)) => json!(class.as_str()),
            Some(Known::Unknown(reason)) => json!({ "unknown": reason }),
            None => Json::Null,
        },
        "incomplete": why.incomplete,
        "tags": tags,
        "tagsUnknown": why.tags_unknown,
        "roles": roles,
    })
}
