//! Errors Nix's parser reports that rnix does not: duplicate formal arguments
//! (`{ lib, lib }:` and `lib@{ lib, ... }:`). Attribute paths defined twice are found where
//! attrpaths are merged, in the evaluator's lowering.

use rnix::ast;
use rowan::ast::AstNode;

use super::{SyntaxError, SyntaxNode};

pub(super) fn validate(root: &SyntaxNode, errors: &mut Vec<SyntaxError>) {
    for pattern in root.descendants().filter_map(ast::Pattern::cast) {
        let mut seen: Vec<String> = Vec::new();
        let bind = pattern
            .pat_bind()
            .and_then(|b| b.ident())
            .map(|i| (i.to_string(), i.syntax().text_range()));
        for entry in pattern.pat_entries() {
            let Some(ident) = entry.ident() else { continue };
            let name = ident.to_string();
            if seen.contains(&name) || bind.as_ref().is_some_and(|(b, _)| *b == name) {
                errors.push(SyntaxError {
                    range: ident.syntax().text_range(),
                    message: format!("duplicate formal function argument `{name}`"),
                });
            } else {
                seen.push(name);
            }
        }
    }
}
