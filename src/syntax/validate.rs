//! Errors Nix's parser reports that rnix does not: duplicate formal arguments
//! (`{ lib, lib }:` and `lib@{ lib, ... }:`). Attribute paths defined twice are found where
//! attrpaths are merged, in the evaluator's lowering.

use rnix::{SyntaxKind, TextRange, ast};
use rowan::NodeOrToken;
use rowan::ast::AstNode;

use super::{SyntaxError, SyntaxNode};

/// The formal-argument patterns of the tree, in order. Found by walking the green tree (a
/// red node for every node of the file cost more than the check itself); a red node is made
/// only for each pattern.
fn patterns(root: &SyntaxNode) -> Vec<ast::Pattern> {
    let pattern = rowan::SyntaxKind(SyntaxKind::NODE_PATTERN as u16);
    let mut found = Vec::new();
    let mut stack = vec![(root.green(), root.text_range().start())];
    while let Some((node, start)) = stack.pop() {
        if node.kind() == pattern {
            let range = TextRange::at(start, node.text_len());
            if let NodeOrToken::Node(n) = root.covering_element(range)
                && let Some(p) = ast::Pattern::cast(n)
            {
                found.push(p);
            }
        }
        // Last child first onto the stack: the walk stays in text order.
        let mut end = start + node.text_len();
        for child in node.children().rev() {
            end -= child.text_len();
            if let Some(child) = child.into_node() {
                stack.push((child, end));
            }
        }
    }
    found
}

pub(super) fn validate(root: &SyntaxNode, errors: &mut Vec<SyntaxError>) {
    for pattern in patterns(root) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns_by_descent(root: &SyntaxNode) -> Vec<ast::Pattern> {
        root.descendants().filter_map(ast::Pattern::cast).collect()
    }

    #[test]
    fn the_green_walk_finds_the_patterns_a_descent_finds() {
        let text = "{ a, b ? ({ c, ... }: c) { c = 1; }, ... }@all: x: { d, d }: [ ({ e }: e) ]";
        let root = crate::syntax::parse(text).syntax();
        let ranges = |ps: Vec<ast::Pattern>| -> Vec<TextRange> {
            ps.iter().map(|p| p.syntax().text_range()).collect()
        };
        let walked = ranges(patterns(&root));
        assert_eq!(walked.len(), 4);
        assert_eq!(walked, ranges(patterns_by_descent(&root)));
    }
}
