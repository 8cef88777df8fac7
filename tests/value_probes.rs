//! Every value of every fixture clan (the seed fleet, the mistakes, the shapes), rewritten in
//! turn: each binding's value and each list element (but for `imports` elements, below).
//!
//! - Replaced by `throw "probe"`: the probe's own error and nothing else. What the model could
//!   not read is unknown, never smaller (a machine without its tags, an instance without its
//!   `module.name`): clan-core itself stops at the throw, anything else clanc reported would
//!   be a cascade of guesses.
//! - Replaced by `builtins.currentSystem` (unknown: the evaluating host's): nothing new.
//! - The same value written otherwise (`let x = v; in x`, `if true then v else null`):
//!   exactly the diagnostics of before. The model reads values, not how they are written.
//!
//! Diagnostics are compared by code, file and message (the rewrite moves the text after it).
//! `imports` elements are left alone: a module clanc cannot see into is assumed to declare and
//! define nothing the model reads (docs/model.md), so an unknown one there is no probe of this.
//! So are set literals the parser merges with another definition of the same set (`a.b = 1;
//! a = { c = 2; };`): written otherwise they are no longer sets written out, and Nix reports
//! the name defined twice; they are part of the binding syntax, not values of their own.

mod common;

use std::sync::Arc;

use clanc::analysis::analyse;
use clanc::diagnostics::Diagnostic;
use common::sweep::{Loaded, fixture_clans};
use rnix::SyntaxKind;

#[test]
fn a_value_that_fails_reports_only_its_own_error() {
    rewrite_every_value(
        |_| "(throw \"probe\")".to_string(),
        Expect::NothingNewBut(&|d| d.message.contains("probe")),
    );
}

#[test]
fn a_value_clanc_cannot_know_reports_nothing() {
    rewrite_every_value(
        |_| "builtins.currentSystem".to_string(),
        Expect::NothingNewBut(&|_| false),
    );
}

#[test]
fn a_value_bound_by_let_is_read_as_written_in_place() {
    rewrite_every_value(|v| format!("(let probe = ({v}); in probe)"), Expect::Same);
}

#[test]
fn a_value_chosen_by_if_is_read_as_written_in_place() {
    rewrite_every_value(|v| format!("(if true then ({v}) else null)"), Expect::Same);
}

/// What the diagnostics after a rewrite must be, compared with those before.
enum Expect<'a> {
    /// Fewer (what became unknown is not checked), and new ones only if this accepts them.
    NothingNewBut(&'a dyn Fn(&Diagnostic) -> bool),
    /// The same.
    Same,
}

/// What a diagnostic says, without where.
fn said(d: &Diagnostic) -> String {
    format!("{} {} {}", d.code, d.span.file, d.message)
}

/// A finding regardless of where it is placed.
fn found(d: &Diagnostic) -> String {
    format!("{} {}", d.code, d.message)
}

/// The ranges of every binding's value and every list element in `text`, but for elements
/// of `imports` lists.
fn values(text: &str) -> Vec<rnix::TextRange> {
    let root = rnix::Root::parse(text).syntax();
    let bound = (root.descendants())
        .filter(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
        .filter(|n| !merged_by_the_parser(n))
        .filter_map(|n| n.last_child());
    let elements = (root.descendants())
        .filter(|n| n.kind() == SyntaxKind::NODE_LIST)
        .filter(|list| {
            let binding = list.parent().and_then(|p| p.first_child());
            binding.is_none_or(|path| !path.text().to_string().ends_with("imports"))
        })
        .flat_map(|list| list.children());
    bound
        .chain(elements)
        .map(|value| value.text_range())
        .collect()
}

/// Whether `binding`'s value is a set literal that the parser merges with another binding of
/// the same set or `let` (one attribute path a prefix of the other).
fn merged_by_the_parser(binding: &rnix::SyntaxNode) -> bool {
    let path = |b: &rnix::SyntaxNode| -> Vec<String> {
        (b.children())
            .find(|c| c.kind() == SyntaxKind::NODE_ATTRPATH)
            .map(|p| p.children().map(|a| a.text().to_string()).collect())
            .unwrap_or_default()
    };
    let mut value = binding.last_child();
    while let Some(v) = value.clone().filter(|v| v.kind() == SyntaxKind::NODE_PAREN) {
        value = v.first_child();
    }
    if value.is_none_or(|v| v.kind() != SyntaxKind::NODE_ATTR_SET) {
        return false;
    }
    let mine = path(binding);
    let Some(parent) = binding.parent() else {
        return false;
    };
    (parent.children())
        .filter(|b| b.kind() == SyntaxKind::NODE_ATTRPATH_VALUE && b != binding)
        .any(|b| {
            let other = path(&b);
            let n = mine.len().min(other.len());
            n > 0 && mine[..n] == other[..n]
        })
}

/// Rewrites each value of every fixture clan in turn (`rewrite` gets its text) and compares
/// the diagnostics with those of before as `expect` says.
fn rewrite_every_value(rewrite: impl Fn(&str) -> String, expect: Expect<'_>) {
    let mut probes = 0;
    let mut failures = Vec::new();
    for fixture in &fixture_clans() {
        let Loaded {
            root,
            mut db,
            workspace,
            nix_files,
            dir: _copy,
        } = Loaded::copy_of(fixture);
        let before_all = analyse(&db, &root, workspace, false).diagnostics;
        let before: Vec<String> = before_all.iter().map(said).collect();
        // The same finding (code and message) may be placed at another of its definitions
        // when a probe removes the first one (a machine named in the inventory and in
        // `clan.machines`): that is not a new finding.
        let before_found: Vec<String> = before_all.iter().map(found).collect();
        for file in nix_files {
            let original: Arc<str> = file.text(&db).clone();
            for range in values(&original) {
                let range = std::ops::Range::<usize>::from(range);
                let mut changed = original.to_string();
                changed.replace_range(range.clone(), &rewrite(&original[range.clone()]));
                file.replace_text(&mut db, Arc::from(changed));
                probes += 1;
                let after = analyse(&db, &root, workspace, false).diagnostics;
                let now: Vec<String> = after.iter().map(said).collect();
                let allowed = |d: &Diagnostic| match &expect {
                    Expect::NothingNewBut(allowed) => allowed(d),
                    Expect::Same => false,
                };
                let moved = |d: &Diagnostic| {
                    matches!(expect, Expect::NothingNewBut(_)) && before_found.contains(&found(d))
                };
                let mut differ: Vec<String> = (after.iter())
                    .filter(|d| !allowed(d) && !before.contains(&said(d)) && !moved(d))
                    .map(|d| format!("+ {}", said(d)))
                    .collect();
                if let Expect::Same = expect {
                    differ.extend(
                        (before.iter())
                            .filter(|s| !now.contains(s))
                            .map(|s| format!("- {s}")),
                    );
                }
                if !differ.is_empty() {
                    failures.push(format!(
                        "{} {} {range:?} {:?}: {differ:#?}",
                        fixture.display(),
                        file.path(&db),
                        original[range.clone()].chars().take(60).collect::<String>()
                    ));
                }
            }
            file.replace_text(&mut db, original.clone());
        }
    }
    assert!(probes > 1000, "only {probes} values probed");
    assert!(
        failures.is_empty(),
        "{} of {probes} rewritten values changed the diagnostics:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
