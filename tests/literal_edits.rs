//! Every literal of the fixture clans (the seed fleet, the mistakes, the shapes) edited alone:
//! an analysis reusing the previous model (what the language server does after the edit) must
//! equal a fresh analysis of the edited text, whatever the model does with that literal
//! (moved, patched, built again), and undoing the edit from there must give the first
//! analysis again. This is what holds the evaluator's read tracking to account: a read it
//! missed lets a stale model through.

mod common;

use std::path::Path;
use std::sync::Arc;

use clanc::analysis::{ModelReuse, analyse, analyse_reusing};
use clanc::db::{Database, SourceFile};
use common::{copy_dir, placed};
use rnix::SyntaxKind;

/// The token's text changed in a way that keeps its kind.
fn edited(kind: SyntaxKind, text: &str) -> Option<String> {
    match kind {
        SyntaxKind::TOKEN_IDENT if text == "true" => Some("false".into()),
        SyntaxKind::TOKEN_IDENT if text == "false" => Some("true".into()),
        SyntaxKind::TOKEN_STRING_CONTENT => Some(format!("{text}z")),
        SyntaxKind::TOKEN_INTEGER => text.parse::<i64>().ok().map(|n| (n + 1).to_string()),
        SyntaxKind::TOKEN_FLOAT => Some(format!("{text}5")),
        _ => None,
    }
}

/// Each literal token's edit (the token's range, its text, the new text), and for strings
/// also all contents removed, or contents typed into an empty string (the fixtures have
/// none; undoing a removal types the contents back into one).
fn edits(
    tokens: &[(SyntaxKind, rnix::TextRange, String)],
) -> Vec<(rnix::TextRange, String, String)> {
    use SyntaxKind::{TOKEN_STRING_CONTENT, TOKEN_STRING_END, TOKEN_STRING_START};
    let kind_at = |i: usize| tokens.get(i).map(|t| t.0);
    let mut out = Vec::new();
    for (i, (kind, range, text)) in tokens.iter().enumerate() {
        if let Some(new) = edited(*kind, text) {
            out.push((*range, text.clone(), new));
        }
        let alone = i.checked_sub(1).and_then(kind_at) == Some(TOKEN_STRING_START)
            && kind_at(i + 1) == Some(TOKEN_STRING_END);
        if *kind == TOKEN_STRING_CONTENT && alone {
            out.push((*range, text.clone(), String::new()));
        }
        if *kind == TOKEN_STRING_START && kind_at(i + 1) == Some(TOKEN_STRING_END) {
            out.push((
                rnix::TextRange::empty(range.end()),
                String::new(),
                "z".into(),
            ));
        }
    }
    out
}

type Tally = std::collections::BTreeMap<String, usize>;

/// Edits each literal of the clan at `fixture` (copied) alone, analyses, and compares.
fn every_literal_of(fixture: &Path, tally: &mut Tally) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("clan");
    copy_dir(fixture, &root);
    let root = std::fs::canonicalize(&root).unwrap();
    let root_text = root.to_string_lossy().into_owned();
    let mut db = Database::default();
    let workspace = clanc::loader::load_clan(&mut db, &root).unwrap().workspace;
    let first = analyse(&db, &root_text, workspace, false);
    let files: Vec<SourceFile> = (workspace.files(&db).iter())
        .filter(|f| f.path(&db).ends_with(".nix"))
        .copied()
        .collect();
    for file in files {
        let original: Arc<str> = file.text(&db).clone();
        let tokens: Vec<(SyntaxKind, rnix::TextRange, String)> = rnix::Root::parse(&original)
            .syntax()
            .descendants_with_tokens()
            .filter_map(|e| e.into_token())
            .map(|t| (t.kind(), t.text_range(), t.text().to_string()))
            .collect();
        for (range, text, new) in edits(&tokens) {
            let mut changed = original.to_string();
            changed.replace_range(std::ops::Range::<usize>::from(range), &new);
            file.replace_text(&mut db, Arc::from(changed));
            let reused = analyse_reusing(&db, &root_text, workspace, false, Some(&first.memo));
            *tally
                .entry(format!("{:?}", reused.model_reused))
                .or_default() += 1;
            if reused.model_reused != ModelReuse::Built {
                let fresh = analyse(&db, &root_text, workspace, false);
                let at = format!(
                    "{}: {} {range:?} {text:?} -> {new:?}",
                    fixture.display(),
                    file.path(&db)
                );
                assert!(reused.clan == fresh.clan, "model differs after {at}");
                assert_eq!(placed(&reused), placed(&fresh), "after {at}");
                // undone, from the memo the edit left: the first analysis again
                file.replace_text(&mut db, original.clone());
                let undone = analyse_reusing(&db, &root_text, workspace, false, Some(&reused.memo));
                assert!(
                    undone.clan == first.clan,
                    "model differs after undoing {at}"
                );
                assert_eq!(placed(&undone), placed(&first), "after undoing {at}");
            }
            file.replace_text(&mut db, original.clone());
        }
    }
}

#[test]
fn every_literal_edited_alone_gives_what_a_fresh_analysis_gives() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut clans = vec![fixtures.join("seed-fleet")];
    for group in ["mistakes", "shapes"] {
        let mut dirs: Vec<_> = std::fs::read_dir(fixtures.join(group))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("flake.nix").is_file())
            .collect();
        dirs.sort();
        clans.extend(dirs);
    }
    assert!(clans.len() > 30, "fixture clans: {clans:?}");
    let mut tally = Tally::new();
    for clan in &clans {
        every_literal_of(clan, &mut tally);
    }
    eprintln!("reuse after each literal edit: {tally:?}");
    // the fixtures exercise every way of reusing the model
    for kind in ["Built", "Moved", "Patched", "Same"] {
        assert!(tally.contains_key(kind), "no {kind} edit: {tally:?}");
    }
}
