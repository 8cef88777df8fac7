//! Nix syntax: turns text into a lossless rowan green tree plus the errors found on the way.
//! Parsing never fails. This layer knows nothing of salsa, evaluation or clan.

mod line_index;
pub mod locate;
mod reparse;
pub mod sops_document;
mod syntax_error;
pub mod token_edit;
mod validate;

pub use line_index::{LineCol, LineIndex};
pub use reparse::reparse;
pub use rnix::{SyntaxKind, SyntaxNode, TextRange, TextSize};
pub use syntax_error::SyntaxError;

use rowan::GreenNode;

/// The result of parsing one file: the green tree (cheap to clone, `Send`, comparable) and
/// every syntax error with the byte range it covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Parse {
    pub green: GreenNode,
    pub errors: Vec<SyntaxError>,
}

impl Parse {
    /// A red (navigable) view of the tree. Red nodes are not `Send`: make them where used.
    pub fn syntax(&self) -> SyntaxNode {
        SyntaxNode::new_root(self.green.clone())
    }

    /// The typed root of the tree.
    pub fn root(&self) -> Option<rnix::Root> {
        <rnix::Root as rowan::ast::AstNode>::cast(self.syntax())
    }
}

/// How deeply brackets (`(`, `[`, `{`, `${`) may nest. rnix limits expression depth itself (to
/// 512, where Nix's parser allows about 2,500 nested sets) but not list nesting, which recurses
/// without bound. Nix 2.8 rejects lists nested 5,000 deep ("memory exhausted"); so does clanc.
const MAX_NESTING: usize = 5000;

/// Parses Nix source text. Errors without a position in rnix (unexpected end of file, nesting
/// too deep) are placed at the end of the text.
pub fn parse(text: &str) -> Parse {
    if let Some(at) = nesting_overflow(text) {
        return too_deep(text, at);
    }
    let parsed = rnix::Root::parse(text);
    let end = TextSize::of(text);
    let mut errors: Vec<SyntaxError> = Vec::new();
    for error in parsed.errors() {
        let error = SyntaxError::from_rnix(error, end);
        // rnix's recovery can report several errors at one place (`unexpected end of file`
        // beside `unexpected end of file, expected ...`): keep the most specific.
        match errors.iter_mut().find(|e| e.range == error.range) {
            Some(same) if error.is_more_specific_than(same) => *same = error,
            Some(_) => {}
            None => errors.push(error),
        }
    }
    let root = parsed.syntax();
    validate::validate(&root, &mut errors);
    errors.sort_by_key(|e| e.range.start());
    Parse {
        green: root.green().to_owned(),
        errors,
    }
}

/// Where the bracket nesting first exceeds `MAX_NESTING`, if it does.
fn nesting_overflow(text: &str) -> Option<TextSize> {
    use SyntaxKind::*;
    let mut depth = 0usize;
    let mut offset = TextSize::from(0);
    for (kind, token) in rnix::tokenize(text) {
        match kind {
            TOKEN_L_PAREN | TOKEN_L_BRACK | TOKEN_L_BRACE | TOKEN_INTERPOL_START => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(offset);
                }
            }
            TOKEN_R_PAREN | TOKEN_R_BRACK | TOKEN_R_BRACE | TOKEN_INTERPOL_END => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        offset += TextSize::of(token);
    }
    None
}

/// A file too deeply nested to parse safely: one error node holding the whole text (the tree
/// stays lossless) and one error where the limit was crossed.
fn too_deep(text: &str, at: TextSize) -> Parse {
    let mut builder = rowan::GreenNodeBuilder::new();
    builder.start_node(rowan::SyntaxKind(SyntaxKind::NODE_ROOT as u16));
    builder.start_node(rowan::SyntaxKind(SyntaxKind::NODE_ERROR as u16));
    builder.token(rowan::SyntaxKind(SyntaxKind::TOKEN_ERROR as u16), text);
    builder.finish_node();
    builder.finish_node();
    Parse {
        green: builder.finish(),
        errors: vec![SyntaxError {
            range: TextRange::at(at, TextSize::from(1)),
            message: format!("brackets nested more than {MAX_NESTING} deep"),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_file_has_no_errors_and_round_trips() {
        let text = "{ a = 1; b = [ 1 2 ]; }\n";
        let p = parse(text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.syntax().to_string(), text);
        assert!(p.root().is_some());
    }

    #[test]
    fn missing_semicolon_is_an_error_with_a_range() {
        let text = "{ a = 1 }";
        let p = parse(text);
        assert_eq!(p.errors[0].range, TextRange::new(8.into(), 9.into()));
        assert_eq!(p.errors[0].message, "unexpected `}`, expected `;`");
        // The tree is still complete: parsing never loses text.
        assert_eq!(p.syntax().to_string(), text);
    }

    #[test]
    fn duplicate_formals_are_errors_at_the_second_name() {
        let p = parse("{ lib, config, lib, ... }: 1");
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].range, TextRange::new(15.into(), 18.into()));
        assert_eq!(
            p.errors[0].message,
            "duplicate formal function argument `lib`"
        );
        let p = parse("a@{ a, ... }: 1");
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(parse("a@{ b, ... }: { c, d }: 1").errors.is_empty());
    }

    #[test]
    fn eof_errors_sit_at_the_end_of_the_file() {
        let text = "{ a = ";
        let p = parse(text);
        assert!(!p.errors.is_empty());
        let end = TextSize::of(text);
        assert!(p.errors.iter().all(|e| e.range == TextRange::empty(end)));
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // rnix stops at a nesting depth of 512; that needs more than a test thread's default
        // stack, which is why clanc runs its work on a thread with `crate::STACK_SIZE`.
        let worker = std::thread::Builder::new()
            .stack_size(crate::STACK_SIZE)
            .spawn(|| {
                let lists = parse(&"[".repeat(100_000));
                let sets = parse(&"{a=".repeat(600));
                (lists, sets)
            });
        let (lists, sets) = worker.unwrap().join().unwrap();
        assert_eq!(lists.errors.len(), 1);
        assert_eq!(
            lists.errors[0].range,
            TextRange::new(5000.into(), 5001.into())
        );
        assert_eq!(lists.syntax().to_string().len(), 100_000);
        assert!(
            sets.errors
                .iter()
                .any(|e| e.message == "expression nested too deeply to parse"),
            "{:?}",
            sets.errors
        );
    }
}
