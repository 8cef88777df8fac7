//! Edits of the code's shape swept over every fixture clan (the seed fleet, the mistakes, the
//! shapes): a list given another element, a set another attribute, an attribute taken away,
//! an expression put in parentheses, a variable replaced by `null`. Where the evaluation never entered the code that
//! changed, the model is reused (moved); it must then equal a fresh analysis, and undoing the
//! edit must give the first analysis back (`common::sweep`).

mod common;

use common::sweep::{Tally, every_edit_of, fixture_clans};
use rnix::{SyntaxKind, SyntaxNode, TextRange, TextSize};

/// Where a node's last token of `kind` starts.
fn last_token(node: &SyntaxNode, kind: SyntaxKind) -> Option<TextSize> {
    node.children_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| t.kind() == kind)
        .last()
        .map(|t| t.text_range().start())
}

/// The shape edits of a file's text.
fn shape_edits(text: &str) -> Vec<(TextRange, String)> {
    use SyntaxKind::*;
    let mut out = Vec::new();
    for node in rnix::Root::parse(text).syntax().descendants() {
        let range = node.text_range();
        match node.kind() {
            NODE_LIST => {
                if let Some(end) = last_token(&node, TOKEN_R_BRACK) {
                    out.push((TextRange::empty(end), "null ".into()));
                }
            }
            NODE_ATTR_SET => {
                if let Some(end) = last_token(&node, TOKEN_R_BRACE) {
                    out.push((TextRange::empty(end), "zz = null; ".into()));
                }
            }
            NODE_ATTRPATH_VALUE => out.push((range, String::new())),
            NODE_APPLY | NODE_SELECT => out.push((range, format!("({})", node.text()))),
            // a variable (not a name in an attribute path or an inherit)
            NODE_IDENT
                if node.parent().is_some_and(|p| {
                    !matches!(
                        p.kind(),
                        NODE_ATTRPATH | NODE_INHERIT | NODE_PAT_ENTRY | NODE_PATTERN | NODE_LAMBDA
                    )
                }) =>
            {
                out.push((range, "null".into()));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_shape_edit_gives_what_a_fresh_analysis_gives() {
    let mut tally = Tally::new();
    for clan in &fixture_clans() {
        every_edit_of(clan, shape_edits, &mut tally);
    }
    eprintln!("reuse after each shape edit: {tally:?}");
    // both ways are exercised
    for kind in ["Built", "Moved"] {
        assert!(tally.contains_key(kind), "no {kind} edit: {tally:?}");
    }
}
