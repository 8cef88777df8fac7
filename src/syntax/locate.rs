//! Finds the text of a value from the position of what names it: the value bound to an
//! attribute (`port = "51820";` from the range of `port`), the elements of a list. The
//! evaluator keeps the positions of attribute names; diagnostics about a value point here.

use rnix::ast;
use rnix::{SyntaxKind, SyntaxNode, TextRange};
use rowan::ast::AstNode;

/// The value bound to the attribute whose name is at `key` (the last name of an attrpath:
/// `c` in `a.b.c = v;`), or `None` when the name is not the last one or nothing is there.
pub fn value_of_key(root: &SyntaxNode, key: TextRange) -> Option<TextRange> {
    let element = root.covering_element(key);
    let mut node = match element {
        rowan::NodeOrToken::Node(n) => n,
        rowan::NodeOrToken::Token(t) => t.parent()?,
    };
    loop {
        if node.kind() == SyntaxKind::NODE_ATTRPATH_VALUE {
            let apv = ast::AttrpathValue::cast(node)?;
            let last = apv.attrpath()?.attrs().last()?;
            if last.syntax().text_range() != key {
                return None;
            }
            return Some(apv.value()?.syntax().text_range());
        }
        if node.kind() == SyntaxKind::NODE_INHERIT {
            return None;
        }
        node = node.parent()?;
    }
}

/// The ranges of the elements of the list written at `list` (through parentheses).
pub fn list_elements(root: &SyntaxNode, list: TextRange) -> Option<Vec<TextRange>> {
    let element = root.covering_element(list);
    let mut node = match element {
        rowan::NodeOrToken::Node(n) => n,
        rowan::NodeOrToken::Token(t) => t.parent()?,
    };
    while node.kind() == SyntaxKind::NODE_PAREN {
        node = node.children().next()?;
    }
    let list = ast::List::cast(node)?;
    Some(list.items().map(|i| i.syntax().text_range()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, needle: &str) -> TextRange {
        let start = text.find(needle).unwrap();
        TextRange::new(
            (start as u32).into(),
            ((start + needle.len()) as u32).into(),
        )
    }

    #[test]
    fn values_of_keys_and_list_elements() {
        let text = r#"{ a.port = "51820"; tags = [ "x" ("y") ]; }"#;
        let root = crate::syntax::parse(text).syntax();
        let v = value_of_key(&root, at(text, "port")).unwrap();
        assert_eq!(&text[std::ops::Range::<usize>::from(v)], "\"51820\"");
        assert!(value_of_key(&root, at(text, "a")).is_none());
        let list = value_of_key(&root, at(text, "tags")).unwrap();
        let items = list_elements(&root, list).unwrap();
        let shown: Vec<&str> = items
            .iter()
            .map(|r| &text[std::ops::Range::<usize>::from(*r)])
            .collect();
        assert_eq!(shown, ["\"x\"", "(\"y\")"]);
    }
}
