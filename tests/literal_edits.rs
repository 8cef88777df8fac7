//! Every literal of the fixture clans (the seed fleet, the mistakes, the shapes) edited alone:
//! an analysis reusing the previous model (what the language server does after the edit) must
//! equal a fresh analysis of the edited text, whatever the model does with that literal
//! (moved, patched, built again), and undoing the edit from there must give the first
//! analysis again. This is what holds the evaluator's read tracking to account: a read it
//! missed lets a stale model through.

mod common;

use common::sweep::{Tally, every_edit_of, fixture_clans};
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

/// Each literal token's edit of a file's text (the token's range, the new text), and for
/// strings also all contents removed, or contents typed into an empty string (the fixtures
/// have none; undoing a removal types the contents back into one).
fn literal_edits(text: &str) -> Vec<(rnix::TextRange, String)> {
    use SyntaxKind::{TOKEN_STRING_CONTENT, TOKEN_STRING_END, TOKEN_STRING_START};
    let tokens: Vec<(SyntaxKind, rnix::TextRange, String)> = rnix::Root::parse(text)
        .syntax()
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .map(|t| (t.kind(), t.text_range(), t.text().to_string()))
        .collect();
    let kind_at = |i: usize| tokens.get(i).map(|t| t.0);
    let mut out = Vec::new();
    for (i, (kind, range, text)) in tokens.iter().enumerate() {
        if let Some(new) = edited(*kind, text) {
            out.push((*range, new));
        }
        let alone = i.checked_sub(1).and_then(kind_at) == Some(TOKEN_STRING_START)
            && kind_at(i + 1) == Some(TOKEN_STRING_END);
        if *kind == TOKEN_STRING_CONTENT && alone {
            out.push((*range, String::new()));
        }
        if *kind == TOKEN_STRING_START && kind_at(i + 1) == Some(TOKEN_STRING_END) {
            out.push((rnix::TextRange::empty(range.end()), "z".into()));
        }
    }
    out
}

#[test]
fn every_literal_edited_alone_gives_what_a_fresh_analysis_gives() {
    let mut tally = Tally::new();
    for clan in &fixture_clans() {
        every_edit_of(clan, literal_edits, &mut tally);
    }
    eprintln!("reuse after each literal edit: {tally:?}");
    // the fixtures exercise every way of reusing the model
    for kind in ["Built", "Moved", "Patched", "Same"] {
        assert!(tally.contains_key(kind), "no {kind} edit: {tally:?}");
    }
}
