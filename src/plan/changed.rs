//! `--changed-since REF`: the machines a change since a git revision affects
//! ([`crate::model::affected`]), as a plan selects and shows them: only affected machines
//! are planned, and the plan says why each is, and which are not.

use std::collections::{BTreeMap, BTreeSet};

/// What the caller found: the revision, the paths that changed, and the machines affected
/// (with reasons) or not.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChangedSince {
    /// As given, or chosen (`HEAD`, `HEAD~1`).
    pub rev: String,
    /// The commit it names (empty when there is none).
    pub commit: String,
    /// Why this revision, when none was given.
    pub chosen: Option<String>,
    /// The paths that differ, relative to the clan directory (`../` outside it).
    pub paths: Vec<String>,
    pub affected: BTreeMap<String, Vec<String>>,
    pub unaffected: Vec<String>,
}

/// Keeps the affected machines of those `--on` selected (when `--changed-since` is given),
/// and the report for those `--on` selected.
pub(super) fn select_affected(
    since: Option<&ChangedSince>,
    selected: &mut BTreeSet<String>,
) -> Option<ChangedReport> {
    let since = since?;
    let report = ChangedReport::new(since, selected);
    selected.retain(|m| since.affected.contains_key(m));
    Some(report)
}

/// [`ChangedSince`] as the plan shows it: restricted to the machines `--on` selects.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChangedReport {
    pub since: ChangedSince,
    /// Affected machines `--on` does not select.
    pub not_selected: Vec<String>,
}

impl ChangedReport {
    /// The report for the machines `selected` (by `--on`, or all).
    pub fn new(since: &ChangedSince, selected: &BTreeSet<String>) -> ChangedReport {
        let mut report = ChangedReport {
            since: since.clone(),
            not_selected: Vec::new(),
        };
        report.since.affected.retain(|m, _| selected.contains(m));
        report.since.unaffected.retain(|m| selected.contains(m));
        report.not_selected = since
            .affected
            .keys()
            .filter(|m| !selected.contains(*m))
            .cloned()
            .collect();
        report
    }

    /// "changed since HEAD (1a2b3c4d5e6f)".
    pub fn title(&self) -> String {
        let commit = &self.since.commit;
        let short = &commit[..commit.len().min(12)];
        match (short.is_empty(), &self.since.chosen) {
            (true, Some(why)) => format!("changed since {} ({why})", self.since.rev),
            (true, None) => format!("changed since {}", self.since.rev),
            (false, Some(why)) => format!("changed since {} ({short}; {why})", self.since.rev),
            (false, None) => format!("changed since {} ({short})", self.since.rev),
        }
    }

    /// The report as text, for `clanc plan`.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let title = self.title();
        let mut title_chars = title.chars();
        let capital: String = title_chars
            .next()
            .map(|c| c.to_uppercase().chain(title_chars).collect())
            .unwrap_or_default();
        let _ = writeln!(out, "\n{capital}: {} path(s)", self.since.paths.len());
        for path in self.since.paths.iter().take(20) {
            let _ = writeln!(out, "  {}", if path.is_empty() { "." } else { path });
        }
        if self.since.paths.len() > 20 {
            let _ = writeln!(out, "  ... and {} more", self.since.paths.len() - 20);
        }
        if self.since.affected.is_empty() {
            let _ = writeln!(out, "No machine is affected: nothing to plan.");
        } else {
            let _ = writeln!(out, "Affected: {} machine(s)", self.since.affected.len());
            for (m, reasons) in &self.since.affected {
                let _ = writeln!(out, "  {m}");
                for why in reasons {
                    let _ = writeln!(out, "    - {why}");
                }
            }
        }
        if !self.since.unaffected.is_empty() {
            let _ = writeln!(out, "Not affected: {}", self.since.unaffected.join(", "));
        }
        if !self.not_selected.is_empty() {
            let _ = writeln!(
                out,
                "Affected but not selected by --on: {}",
                self.not_selected.join(", ")
            );
        }
        out
    }
}
