//! Nix syntax: turns text into a lossless rowan green tree plus the errors found on the way.
//! Parsing never fails. This layer knows nothing of salsa, evaluation or clan.

mod cost_bound;
mod line_index;
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
/// too deep) are placed at the end of the text. Text that rnix would take more than linear
/// time over (see [`too_costly`]) is not given to it: one error says why.
pub fn parse(text: &str) -> Parse {
    if let Some((at, message)) = too_costly(text) {
        return refused(text, at, message);
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

/// How much work, per byte of text, the two costs measured by [`too_costly`] may take, plus
/// [`COST_BASE`]: far above what written code takes (the files of the corpus's clans stay
/// below 4 per byte for either), far below the quadratic cases (100,000 `!` cost 5e9).
const COST_PER_BYTE: u64 = 64;
const COST_BASE: u64 = 4_000_000;

/// Whether parsing `text` would take rnix more than linear time, or nest brackets more than
/// `MAX_NESTING`: where and why, if so. Measured on rnix's tokens in one pass (stopping as
/// soon as a budget is crossed, so this check is linear itself), two costs:
///
/// - **Tokenizer lookahead.** At each token rnix scans ahead over the run of path
///   characters (`a-z A-Z 0-9 / _ . + -`, and `<` for search paths) to tell a path from an
///   identifier or operators: a long run that splits into many tokens (`------`, `a+a+a+`)
///   costs the square of its length. The cost counted is that run's rest at each token.
/// - **Tree depth.** rowan, under rnix, interns small syntax nodes in a hash table; growing
///   the table hashes every interned node again, recursively through its whole subtree, so
///   a tree that is deep without brackets (`!!!!!!`, `- - - -`, `f a a a a`, `"" "" ""`,
///   `a + a + a`, `a ? b ? c`) costs the square of its depth. The cost counted is each
///   token's estimated depth: the tokens before it in its expression (since the last `;`,
///   `,`, `=`, `:` or keyword that starts a new expression) at each enclosing bracket level.
///   List elements and string parts do not chain.
///
/// Most texts are far within both budgets: [`cost_bound`] proves that from the bytes alone,
/// and only a text it cannot vouch for is measured on rnix's tokens.
fn too_costly(text: &str) -> Option<(TextSize, String)> {
    let budget = cost_budget(text);
    if cost_bound::within(text, budget, MAX_NESTING) {
        return None;
    }
    measure_cost(text, budget, MAX_NESTING)
}

/// [`too_costly`]'s measure on rnix's tokens, with its budget and nesting limit.
fn measure_cost(text: &str, budget: u64, max_nesting: usize) -> Option<(TextSize, String)> {
    use SyntaxKind::*;
    let mut lookahead = PathLookahead::with_budget(text, budget);

    struct Level {
        /// Brackets of a list, or a string: its elements or parts do not chain.
        flat: bool,
        /// Operands and operators of the current expression at this level.
        chain: u64,
    }
    let mut levels = vec![Level {
        flat: false,
        chain: 0,
    }];
    // The estimated depth at the current token: every level's chain (brackets themselves
    // are bounded by `MAX_NESTING`, and rnix stops at 512 nested expressions).
    let mut depth: u64 = 0;
    let mut tree: u64 = 0;
    let mut brackets = 0usize;
    let mut offset = 0usize;
    for (kind, token) in rnix::tokenize(text) {
        let start = offset;
        offset += token.len();
        let at = TextSize::try_from(start).unwrap_or_default();
        if !lookahead.token_at(start) {
            return Some((at, LOOKAHEAD_TOO_COSTLY.to_string()));
        }
        if kind.is_trivia() {
            continue;
        }
        let top = levels.len() - 1;
        match kind {
            TOKEN_SEMICOLON | TOKEN_COMMA | TOKEN_ASSIGN | TOKEN_COLON | TOKEN_AT | TOKEN_IN
            | TOKEN_THEN | TOKEN_ELSE | TOKEN_IF | TOKEN_LET | TOKEN_WITH | TOKEN_ASSERT
            | TOKEN_INHERIT => {
                depth -= levels[top].chain;
                levels[top].chain = 0;
                continue;
            }
            TOKEN_R_PAREN | TOKEN_R_BRACK | TOKEN_R_BRACE | TOKEN_INTERPOL_END
            | TOKEN_STRING_END => {
                if matches!(
                    kind,
                    TOKEN_R_PAREN | TOKEN_R_BRACK | TOKEN_R_BRACE | TOKEN_INTERPOL_END
                ) {
                    brackets = brackets.saturating_sub(1);
                }
                if levels.len() > 1
                    && let Some(level) = levels.pop()
                {
                    depth -= level.chain;
                }
                continue;
            }
            _ => {}
        }
        // Characters rnix does not know are gathered into flat error nodes: no chain.
        if !levels[top].flat && kind != TOKEN_ERROR {
            levels[top].chain += 1;
            depth += 1;
        }
        tree = tree.saturating_add(depth);
        if tree > budget {
            return Some((
                at,
                "expression chained too deeply for clanc to parse (thousands of operators or \
                 arguments in a row): put parentheses or `let` bindings around parts of it"
                    .to_string(),
            ));
        }
        match kind {
            TOKEN_L_PAREN | TOKEN_L_BRACK | TOKEN_L_BRACE | TOKEN_INTERPOL_START => {
                brackets += 1;
                if brackets > max_nesting {
                    return Some((at, format!("brackets nested more than {max_nesting} deep")));
                }
                levels.push(Level {
                    flat: kind == TOKEN_L_BRACK,
                    chain: 0,
                });
            }
            TOKEN_STRING_START => {
                levels.push(Level {
                    flat: true,
                    chain: 0,
                });
            }
            _ => {}
        }
    }
    None
}

/// The work [`too_costly`] allows for `text`, in each of its two costs.
fn cost_budget(text: &str) -> u64 {
    COST_BASE.saturating_add(COST_PER_BYTE.saturating_mul(text.len() as u64))
}

const LOOKAHEAD_TOO_COSTLY: &str =
    "too many operators, names and numbers run together without spaces for clanc to parse";

/// rnix's tokenizer lookahead over runs of path characters (the first cost of
/// [`too_costly`]), counted token by token as a tokenizer walks `text`.
pub(crate) struct PathLookahead<'a> {
    bytes: &'a [u8],
    /// The end of the run of path characters around the current token (a byte offset).
    run_end: usize,
    cost: u64,
    budget: u64,
}

impl<'a> PathLookahead<'a> {
    pub(crate) fn new(text: &'a str) -> PathLookahead<'a> {
        PathLookahead::with_budget(text, cost_budget(text))
    }

    fn with_budget(text: &'a str, budget: u64) -> PathLookahead<'a> {
        PathLookahead {
            bytes: text.as_bytes(),
            run_end: 0,
            cost: 0,
            budget,
        }
    }

    /// Counts the lookahead at the token starting at byte `start` (tokens in order): false
    /// once the whole text's lookahead has passed its budget.
    pub(crate) fn token_at(&mut self, start: usize) -> bool {
        let path_char = |b: u8| {
            b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'.' | b'+' | b'-' | b'<')
        };
        if start >= self.run_end {
            self.run_end = start;
            while self.run_end < self.bytes.len() && path_char(self.bytes[self.run_end]) {
                self.run_end += 1;
            }
        }
        self.cost = (self.cost).saturating_add(self.run_end.saturating_sub(start) as u64);
        self.cost <= self.budget
    }
}

/// A file not given to rnix: one error node holding the whole text (the tree stays
/// lossless) and one error where the limit was crossed.
fn refused(text: &str, at: TextSize, message: String) -> Parse {
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
            message,
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

    #[test]
    fn text_rnix_would_take_quadratic_time_over_is_refused_with_one_error() {
        for (unit, count, message) in [
            ("!", 100_000, "chained too deeply"),
            ("f ", 100_000, "chained too deeply"),
            ("\"\" ", 100_000, "chained too deeply"),
            ("a + ", 100_000, "chained too deeply"),
            ("-", 100_000, "run together without spaces"),
            ("a+", 100_000, "run together without spaces"),
            ("<", 100_000, "run together without spaces"),
        ] {
            let text = unit.repeat(count);
            let started = std::time::Instant::now();
            let p = parse(&text);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{unit:?}: {:?}",
                started.elapsed()
            );
            assert_eq!(p.errors.len(), 1, "{unit:?}: {:?}", p.errors);
            assert!(
                p.errors[0].message.contains(message),
                "{unit:?}: {:?}",
                p.errors
            );
            // lossless all the same
            assert_eq!(p.syntax().to_string(), text);
        }
    }

    #[test]
    fn long_but_ordinary_expressions_still_parse() {
        // a list of 100,000 elements, 1,000 strings joined by `+`, a long attribute set
        let list = format!("[ {}]", "1 ".repeat(100_000));
        let sum = format!("{}\"x\"", "\"x\" + ".repeat(1_000));
        let set = format!(
            "{{ {}}}",
            (0..20_000)
                .map(|i| format!("a{i} = f a b c + 1; "))
                .collect::<String>()
        );
        for text in [list, sum, set] {
            let p = parse(&text);
            assert!(p.errors.is_empty(), "{:?}", p.errors);
        }
    }
}
