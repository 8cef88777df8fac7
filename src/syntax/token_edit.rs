//! Edits that keep a file's tokens: only trivia (comments, whitespace between tokens)
//! changed, or also the text of literals (string contents, numbers). The parse tree is then
//! the same apart from where its tokens are and what those literals say, so a result computed
//! from the old text can be moved instead of computed again: always after a trivia edit, and
//! after a literal edit when the computation never used the literals that changed.

use std::cell::Cell;

use rnix::{SyntaxKind, TextRange, TextSize};

/// Where the tokens of an old text are in a new text with the same tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// Per non-trivia token, in order: its start in the old text, its start in the new text,
    /// its length in the old text and in the new one.
    tokens: Vec<(u32, u32, u32, u32)>,
    new_len: u32,
}

fn is_trivia(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        SyntaxKind::TOKEN_WHITESPACE | SyntaxKind::TOKEN_COMMENT
    )
}

/// Tokens whose text may change without changing the parse tree's shape.
fn is_literal(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        SyntaxKind::TOKEN_STRING_CONTENT | SyntaxKind::TOKEN_INTEGER | SyntaxKind::TOKEN_FLOAT
    )
}

/// `true` or `false`: names, but of constants unless the code binds them (the caller finds
/// out which from the code around them).
fn is_boolean(kind: SyntaxKind, text: &str) -> bool {
    kind == SyntaxKind::TOKEN_IDENT && matches!(text, "true" | "false")
}

/// The non-trivia tokens of `text` with their starts. They end early, setting `over`, where
/// rnix's tokenizer would take more than linear time over the text (the budget `parse` sets,
/// [`super::PathLookahead`]): such a text has no usable parse to move a result to.
fn tokens<'a>(
    text: &'a str,
    over: &'a Cell<bool>,
) -> impl Iterator<Item = (u32, SyntaxKind, &'a str)> + 'a {
    let mut offset = 0u32;
    let mut lookahead = super::PathLookahead::new(text);
    rnix::tokenize(text)
        .map_while(move |(kind, token)| {
            if !lookahead.token_at(offset as usize) {
                over.set(true);
                return None;
            }
            let start = offset;
            offset = offset.saturating_add(token.len() as u32);
            Some((start, kind, token))
        })
        .filter(|&(_, kind, _)| !is_trivia(kind))
}

/// How `old` moved to become `new`, when the two texts have the same tokens apart from
/// comments and whitespace between them (`None` when any other token differs, or when a
/// text is too large to index with `u32`).
#[cfg(test)]
pub fn trivia_only(old: &str, new: &str) -> Option<Moved> {
    match literals_only(old, new)? {
        (moved, literals) if literals.is_empty() => Some(moved),
        _ => None,
    }
}

/// How `old` moved to become `new`, and the literal tokens whose text changed (their range
/// in the old text and in the new one), when the texts have the same tokens apart from
/// trivia and the text of literals, counting `true` and `false` as literals (`None`
/// otherwise). A string that was empty and now has contents, or the reverse, has one token
/// more on one side: the other side's range is then its opening quote's.
pub fn literals_only(old: &str, new: &str) -> Option<(Moved, Vec<(TextRange, TextRange)>)> {
    let new_len = u32::try_from(new.len()).ok()?;
    u32::try_from(old.len()).ok()?;
    let mut moved = Moved {
        tokens: Vec::new(),
        new_len,
    };
    let mut literals = Vec::new();
    let over = Cell::new(false);
    let mut before = tokens(old, &over).peekable();
    let mut after = tokens(new, &over).peekable();
    // The opening quote just paired, in the old text and the new one.
    let mut quote: Option<(TextRange, TextRange)> = None;
    loop {
        let (Some(&(a, kind_a, text_a)), Some(&(b, kind_b, text_b))) =
            (before.peek(), after.peek())
        else {
            return (before.peek().is_none() && after.peek().is_none() && !over.get())
                .then_some((moved, literals));
        };
        let (range_a, range_b) = (
            TextRange::at(a.into(), (text_a.len() as u32).into()),
            TextRange::at(b.into(), (text_b.len() as u32).into()),
        );
        if kind_a != kind_b {
            // contents typed into an empty string, or all of them removed
            let (old_quote, new_quote) = quote.take()?;
            match (kind_a, kind_b) {
                (SyntaxKind::TOKEN_STRING_END, SyntaxKind::TOKEN_STRING_CONTENT) => {
                    literals.push((old_quote, range_b));
                    after.next();
                }
                (SyntaxKind::TOKEN_STRING_CONTENT, SyntaxKind::TOKEN_STRING_END) => {
                    literals.push((range_a, new_quote));
                    before.next();
                }
                _ => return None,
            }
            continue;
        }
        if text_a != text_b {
            let boolean = is_boolean(kind_a, text_a) && is_boolean(kind_b, text_b);
            if !is_literal(kind_a) && !boolean {
                return None;
            }
            literals.push((range_a, range_b));
        }
        quote = (kind_a == SyntaxKind::TOKEN_STRING_START).then_some((range_a, range_b));
        moved
            .tokens
            .push((a, b, u32::from(range_a.len()), u32::from(range_b.len())));
        before.next();
        after.next();
    }
}

/// How the tokens of `old` before and after the part an edit changed are placed in `new`:
/// the longest run of equal tokens (kind and text) from the start, and from the end; and
/// where the tokens of `old` between those runs are (from the first one's start to the last
/// one's end; `None` when the edit only inserted tokens). `None` when a text is too large to
/// index with `u32`. Offsets in the changed part map to the end of the last token before it
/// (as trivia after it would).
pub fn around_change(old: &str, new: &str) -> Option<(Moved, Option<TextRange>)> {
    let new_len = u32::try_from(new.len()).ok()?;
    u32::try_from(old.len()).ok()?;
    let over = Cell::new(false);
    let before: Vec<_> = tokens(old, &over).collect();
    let after: Vec<_> = tokens(new, &over).collect();
    if over.get() {
        return None;
    }
    let same = |a: &(u32, SyntaxKind, &str), b: &(u32, SyntaxKind, &str)| a.1 == b.1 && a.2 == b.2;
    let prefix = before
        .iter()
        .zip(&after)
        .take_while(|(a, b)| same(a, b))
        .count();
    let room = before.len().min(after.len()) - prefix;
    let suffix = before
        .iter()
        .rev()
        .zip(after.iter().rev())
        .take(room)
        .take_while(|(a, b)| same(a, b))
        .count();
    let pair = |a: &(u32, SyntaxKind, &str), b: &(u32, SyntaxKind, &str)| {
        (a.0, b.0, a.2.len() as u32, b.2.len() as u32)
    };
    let mut tokens: Vec<_> = before[..prefix]
        .iter()
        .zip(&after[..prefix])
        .map(|(a, b)| pair(a, b))
        .collect();
    tokens.extend(
        before[before.len() - suffix..]
            .iter()
            .zip(&after[after.len() - suffix..])
            .map(|(a, b)| pair(a, b)),
    );
    let changed = &before[prefix..before.len() - suffix];
    let changed = match (changed.first(), changed.last()) {
        (Some(first), Some(last)) => Some(TextRange::new(
            first.0.into(),
            (last.0 + last.2.len() as u32).into(),
        )),
        _ => None,
    };
    Some((Moved { tokens, new_len }, changed))
}

impl Moved {
    /// Where `offset` of the old text is in the new one: the same place within its token
    /// (at most its new end); in trivia after a token, as far after it as before, but not
    /// past the next token.
    pub fn offset(&self, offset: TextSize) -> TextSize {
        let offset = u32::from(offset);
        let index = self.tokens.partition_point(|&(old, ..)| old <= offset);
        let next_start = |i: usize| self.tokens.get(i).map_or(self.new_len, |t| t.1);
        let mapped = match index.checked_sub(1) {
            // in the trivia before the first token
            None => offset.min(next_start(0)),
            Some(i) => {
                let (old, new, old_len, new_len) = self.tokens[i];
                let (old_end, new_end) = (old.saturating_add(old_len), new.saturating_add(new_len));
                if offset == old_end {
                    new_end
                } else if offset < old_end {
                    new.saturating_add((offset - old).min(new_len))
                } else {
                    new_end
                        .saturating_add(offset - old_end)
                        .min(next_start(i + 1))
                }
            }
        };
        TextSize::from(mapped.min(self.new_len))
    }

    pub fn range(&self, range: TextRange) -> TextRange {
        let start = self.offset(range.start());
        let end = self.offset(range.end()).max(start);
        TextRange::new(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn around_a_change_tokens_before_and_after_it_move() {
        let old = "{ a = [ 1 ]; b = 2; }";
        let new = "{ a = [ 1 x ];  b = 2; }";
        let (moved, changed) = around_change(old, new).unwrap();
        // only inserted
        assert_eq!(changed, None);
        // before the change: in place
        assert_eq!(moved.offset(at(old, "a")), at(new, "a"));
        assert_eq!(moved.offset(at(old, "1")), at(new, "1"));
        // after it: moved with the text
        assert_eq!(moved.offset(at(old, "b")), at(new, "b"));
        assert_eq!(moved.offset(at(old, "]")), at(new, "]"));
        // the list's range follows its brackets
        let list = TextRange::new(at(old, "["), at(old, "]") + TextSize::from(1));
        let new_list = TextRange::new(at(new, "["), at(new, "]") + TextSize::from(1));
        assert_eq!(moved.range(list), new_list);
        // an edit that only removes tokens, and one at the very end
        assert!(around_change(new, old).is_some());
        let (grown, changed) = around_change("a", "a b").unwrap();
        assert_eq!(grown.offset(TextSize::from(1)), TextSize::from(1));
        assert_eq!(changed, None);
        let (_, changed) = around_change("f a b", "f x b").unwrap();
        assert_eq!(changed, Some(TextRange::new(2.into(), 3.into())));
    }

    fn at(text: &str, needle: &str) -> TextSize {
        TextSize::from(text.find(needle).expect("needle in text") as u32)
    }

    #[test]
    fn comments_and_whitespace_move_tokens() {
        let old = "{\n  # hosts\n  a = \"x\"; b = 1;\n}\n";
        let new = "{\n  # the hosts of the clan\n\n  a   = \"x\";  b = 1; # one\n}\n";
        let moved = trivia_only(old, new).expect("only trivia changed");
        for needle in ["a ", "\"x\"", "b", "1", "}"] {
            assert_eq!(moved.offset(at(old, needle)), at(new, needle), "{needle}");
        }
        let old_b = TextRange::at(at(old, "b = 1"), TextSize::from(5));
        assert_eq!(
            moved.range(old_b),
            TextRange::at(at(new, "b = 1"), 5.into())
        );
        // a range from `a` to the end of `1` keeps covering both
        let old_ab = TextRange::new(at(old, "a "), at(old, "1;") + TextSize::from(1));
        let new_ab = TextRange::new(at(new, "a "), at(new, "1;") + TextSize::from(1));
        assert_eq!(moved.range(old_ab), new_ab);
        // the end of the text stays the end
        assert_eq!(
            moved.offset(TextSize::of(old)),
            TextSize::of(new),
            "end of text"
        );
    }

    #[test]
    fn other_changes_are_not_trivia() {
        // a string's content, an identifier, an added token, whitespace inside a string
        for (old, new) in [
            ("{ a = \"x\"; }", "{ a = \"y\"; }"),
            ("{ a = 1; }", "{ b = 1; }"),
            ("{ a = 1; }", "{ a = 1; b = 2; }"),
            ("{ a = \"x y\"; }", "{ a = \"x  y\"; }"),
            ("{ a = ''\n  x\n''; }", "{ a = ''\n    x\n''; }"),
            ("a -1", "a-1"),
            ("{ a = 1; }", "{ a = 1; }}"),
        ] {
            assert_eq!(trivia_only(old, new), None, "{old:?} -> {new:?}");
        }
        assert!(
            trivia_only("{ a = 1; }", "{ a = 1; }").is_some(),
            "same text"
        );
    }

    #[test]
    fn literal_edits_keep_the_tokens() {
        let old = "{ a = \"x\"; b = 1; c = \"k${v}\"; }";
        let new = "{ a = \"longer\"; b = 12; c = \"k${v}\"; }";
        let (moved, literals) = literals_only(old, new).expect("only literals changed");
        let range =
            |text: &str, needle: &str| TextRange::at(at(text, needle), TextSize::of(needle));
        assert_eq!(
            literals,
            vec![
                (range(old, "x"), range(new, "longer")),
                (range(old, "1"), range(new, "12")),
            ]
        );
        // a changed literal's string covers its new text; what follows moved along
        assert_eq!(moved.range(range(old, "\"x\"")), range(new, "\"longer\""));
        assert_eq!(moved.range(range(old, "1")), range(new, "12"));
        assert_eq!(moved.offset(at(old, "c =")), at(new, "c ="));
        // names, operators, paths and the shape of strings are not literal edits
        for (old, new) in [
            ("{ a = 1; }", "{ b = 1; }"),
            ("{ a = \"x\"; }", "{ a = \"x${y}\"; }"),
            ("{ a = \"\"; }", "{ a = \"${y}\"; }"),
            ("{ a = \"x${y}\"; }", "{ a = \"${y}\"; }"),
            ("{ a = \"${y}x\"; }", "{ a = \"${y}\"; }"),
            ("x + 1", "x - 1"),
            ("./a.nix", "./b.nix"),
        ] {
            assert_eq!(literals_only(old, new), None, "{old:?} -> {new:?}");
        }
        assert_eq!(trivia_only(old, new), None, "literals are not trivia");
    }

    #[test]
    fn an_empty_string_given_contents_and_back_is_a_literal_edit() {
        let range =
            |text: &str, needle: &str| TextRange::at(at(text, needle), TextSize::of(needle));
        let (empty, full) = ("{ a = \"\"; b = 1; }", "{ a = \"web\"; b = 1; }");
        // the empty string's range is its opening quote's
        let quote = TextRange::at(at(empty, "\""), TextSize::from(1));
        let (moved, literals) = literals_only(empty, full).expect("contents typed");
        assert_eq!(literals, vec![(quote, range(full, "web"))]);
        assert_eq!(moved.range(range(empty, "\"\"")), range(full, "\"web\""));
        assert_eq!(moved.offset(at(empty, "b =")), at(full, "b ="));
        let quote = TextRange::at(at(full, "\""), TextSize::from(1));
        let (moved, literals) = literals_only(full, empty).expect("contents removed");
        assert_eq!(literals, vec![(range(full, "web"), quote)]);
        assert_eq!(moved.range(range(full, "\"web\"")), range(empty, "\"\""));
        // indented strings too
        assert!(literals_only("{ a = ''''; }", "{ a = ''x''; }").is_some());
    }

    /// A new text rnix's tokenizer would scan ahead over quadratically (`parse` refuses it)
    /// is not tokenized to its end: no move, at once.
    #[test]
    fn a_text_past_the_parse_budget_moves_nothing() {
        let old = format!("[ ({}1) ]", "1-".repeat(1000));
        let new = format!("[ ({}{}) ]", "1-".repeat(1000), "1".repeat(1 << 20));
        let started = std::time::Instant::now();
        assert_eq!(literals_only(&old, &new), None);
        assert_eq!(around_change(&old, &new), None);
        assert_eq!(around_change(&old, &"-".repeat(100_000)), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // within the budget the same edit is a literal one
        let new = format!("[ ({}123) ]", "1-".repeat(1000));
        assert!(literals_only(&old, &new).is_some());
    }
}
