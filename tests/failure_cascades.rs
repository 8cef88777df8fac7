//! A value that fails to evaluate reports its own error and nothing else, and a value clanc
//! cannot know reports nothing: over every fixture clan (the seed fleet, the mistakes, the
//! shapes), each binding's value in turn is replaced by `throw "probe"`, then by
//! `builtins.currentSystem` (unknown: the evaluating host's). What the model could not read is
//! unknown, never smaller (a machine without its tags, an instance without its `module.name`),
//! so every diagnostic of the edited clan must be one the clan had before the edit (same code,
//! file and message) or the probe's own error. Clan-core itself stops at the throw; anything
//! else clanc reports would be a cascade of guesses.

mod common;

use std::sync::Arc;

use clanc::analysis::analyse;
use clanc::diagnostics::Diagnostic;
use common::sweep::{Loaded, fixture_clans};
use rnix::SyntaxKind;

/// What a diagnostic says, without where (the edit moves the text after it).
fn said(d: &Diagnostic) -> String {
    format!("{} {} {}", d.code, d.span.file, d.message)
}

/// The ranges of every binding's value and every list element in `text`, but for elements
/// of `imports` lists: a module clanc cannot see into is assumed to declare and define nothing
/// the model reads (docs/model.md), so an unknown one there is not a probe of the above.
fn values(text: &str) -> Vec<rnix::TextRange> {
    let root = rnix::Root::parse(text).syntax();
    let bound = (root.descendants())
        .filter(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
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

#[test]
fn a_value_that_fails_reports_only_its_own_error() {
    replace_every_value_by("(throw \"probe\")");
}

#[test]
fn a_value_clanc_cannot_know_reports_nothing() {
    replace_every_value_by("builtins.currentSystem");
}

/// Replaces each binding's value of every fixture clan by `probe` in turn: only diagnostics
/// the clan had before, or that mention the probe, may be reported.
fn replace_every_value_by(probe: &str) {
    let mut probes = 0;
    let mut failures = Vec::new();
    for fixture in &fixture_clans() {
        let Loaded {
            root: root_text,
            mut db,
            workspace,
            nix_files,
            dir: _copy,
        } = Loaded::copy_of(fixture);
        let before: Vec<String> = (analyse(&db, &root_text, workspace, false).diagnostics)
            .iter()
            .map(said)
            .collect();
        for file in nix_files {
            let original: Arc<str> = file.text(&db).clone();
            for range in values(&original) {
                let mut changed = original.to_string();
                changed.replace_range(std::ops::Range::<usize>::from(range), probe);
                file.replace_text(&mut db, Arc::from(changed));
                probes += 1;
                let after = analyse(&db, &root_text, workspace, false);
                let new: Vec<String> = (after.diagnostics.iter())
                    .filter(|d| !d.message.contains("probe"))
                    .map(said)
                    .filter(|s| !before.contains(s))
                    .collect();
                if !new.is_empty() {
                    let text = &original[std::ops::Range::<usize>::from(range)];
                    failures.push(format!(
                        "{} {} {range:?} {:?}: {new:#?}",
                        fixture.display(),
                        file.path(&db),
                        text.chars().take(60).collect::<String>()
                    ));
                }
            }
            file.replace_text(&mut db, original.clone());
        }
    }
    assert!(probes > 1000, "only {probes} values probed");
    assert!(
        failures.is_empty(),
        "{} of {probes} values replaced by `{probe}` made other diagnostics:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
