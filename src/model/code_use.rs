//! What an evaluation did with the code it imported (the literals it used, the expressions
//! it entered, the text the model's builder read, whether positions became values), and what
//! that says of edits of that code: an edit of comments, whitespace, literals it never used or
//! never read, or of code it never entered leaves the model as it was, its spans moved with
//! the text (and its copies of edited literals replaced). The language server keeps this with
//! its model ([`super::ModelInputs`]); the cache keeps it beside an entry.

use std::collections::HashMap;
use std::sync::Arc;

use rnix::TextRange;

use super::freshness::LiteralEdit;
use crate::db::Db;
use crate::diagnostics::Span;
use crate::eval::{EnteredExprs, Evaluator, LiteralValue, UsedLiteral};
use crate::files::ClanFiles;
use crate::syntax::token_edit::{Moved, around_change, literals_only};

/// What an evaluation did with the code it imported, per file (absolute path).
#[derive(Clone, Debug, Default)]
pub struct CodeUse {
    /// Whether the evaluation turned a position into a value or a message: then moving
    /// text around (comments, whitespace) can change the model.
    pub positions_shown: bool,
    /// The literals whose values the evaluation used, by file path (sorted), and whether it
    /// read them: an edit of any other literal cannot change the model, and an edit of a
    /// literal it did not read changes only the model's copies of it.
    /// (Per file shared: moving a model copies the map, not every file's ranges.)
    pub literals_used: Arc<HashMap<String, Arc<[UsedLiteral]>>>,
    /// The expressions the evaluation entered, per file it imported as code: an edit that
    /// changes only subtrees it never entered cannot change the model.
    pub entered: Arc<HashMap<String, EnteredExprs>>,
    /// Where the model's builder read source text, per file: what it made of that text
    /// depends on all of it, entered or not.
    pub texts_shown: Arc<HashMap<String, Arc<[TextRange]>>>,
}

/// How edits of code files leave a model: its spans move, its copies of literals change.
#[derive(Debug)]
pub struct CodeEdits {
    /// What the evaluation used, entered and showed, in terms of the new texts.
    pub code: CodeUse,
    /// How each edited file of the clan (relative path) moved.
    pub moves: Vec<(String, Moved)>,
    /// Literals the evaluation passed on to the model but never read, with their new values.
    pub edits: Vec<LiteralEdit>,
    /// Code the evaluation never entered that changed, and names of attributes now written
    /// at another path of their set (old ranges): a span of the model that overlaps one
    /// without lying around it was not made by the evaluation (a position of unforced code)
    /// or is a position that moved, so the model is built again.
    pub unentered: Vec<Span>,
    /// The old ranges of every literal and subtree that changed (trivia aside).
    pub touched: Vec<Span>,
}

/// How one file imported as code changed, when that leaves the model as it was (moved).
struct FileChange {
    moved: Moved,
    /// Literals the evaluation passed on but never read: their new ranges and values.
    literals: Vec<(TextRange, LiteralValue)>,
    /// Old ranges of the subtrees that changed without having been entered, and of names of
    /// attributes now written at another path of their set.
    unentered: Vec<TextRange>,
    /// What the evaluation entered, in terms of the new text (`None`: unknown from now on).
    entered: Option<EnteredExprs>,
    /// Old ranges of the literals and subtrees that changed.
    touched: Vec<TextRange>,
}

impl CodeUse {
    /// What the evaluation `ev` did with the code it imported.
    pub fn of(ev: &Evaluator) -> CodeUse {
        CodeUse {
            positions_shown: ev.showed_positions(),
            literals_used: Arc::new(
                ev.literals_used()
                    .into_iter()
                    .map(|(path, ranges)| (path, Arc::from(ranges)))
                    .collect(),
            ),
            entered: Arc::new(ev.entered_exprs()),
            texts_shown: Arc::new(
                ev.texts_shown()
                    .into_iter()
                    .map(|(path, ranges)| (path, Arc::from(ranges)))
                    .collect(),
            ),
        }
    }

    /// How the code files `changed` (absolute path, new text; `before` gives the old text)
    /// leave the model, when only comments, whitespace, literals the evaluation never used
    /// or never read, and code it never entered changed; `None` when the model must be built
    /// again. `files`: the clan as it is now.
    pub fn after_edits<'t>(
        &self,
        db: &dyn Db,
        files: &ClanFiles,
        changed: &[(String, Arc<str>)],
        before: impl Fn(&str) -> Option<&'t str>,
    ) -> Option<CodeEdits> {
        if self.positions_shown {
            return None;
        }
        let mut moves = Vec::new();
        let mut edits = Vec::new();
        let mut unentered = Vec::new();
        let mut touched = Vec::new();
        // What the evaluation used, entered and showed moves with the text too.
        let mut literals_used = HashMap::clone(&self.literals_used);
        let mut entered = HashMap::clone(&self.entered);
        let mut texts_shown = HashMap::clone(&self.texts_shown);
        for (path, text) in changed {
            let before = before(path)?;
            let rel = files.relative(path);
            let change = self
                .literal_change(db, files, path, rel.is_some(), before, text)
                .or_else(|| self.unentered_change(db, files, path, before, text))?;
            let moved = change.moved;
            let move_all = |ranges: &[TextRange]| ranges.iter().map(|r| moved.range(*r)).collect();
            if let Some(used) = literals_used.get_mut(path) {
                *used = used
                    .iter()
                    .map(|u| UsedLiteral {
                        range: moved.range(u.range),
                        read: u.read,
                    })
                    .collect();
            }
            if let Some(shown) = texts_shown.get_mut(path) {
                *shown = move_all(shown);
            }
            match change.entered {
                Some(now) => entered.insert(path.clone(), now),
                None => entered.remove(path),
            };
            // Files outside the clan have no spans in the model.
            if let Some(rel) = rel {
                edits.extend(
                    change
                        .literals
                        .into_iter()
                        .map(|(range, value)| LiteralEdit {
                            literal: Span::new(rel, range),
                            value,
                        }),
                );
                unentered.extend(change.unentered.into_iter().map(|r| Span::new(rel, r)));
                touched.extend(change.touched.into_iter().map(|r| Span::new(rel, r)));
                moves.push((rel.to_string(), moved));
            }
        }
        Some(CodeEdits {
            code: CodeUse {
                positions_shown: false,
                literals_used: Arc::new(literals_used),
                entered: Arc::new(entered),
                texts_shown: Arc::new(texts_shown),
            },
            moves,
            edits,
            unentered,
            touched,
        })
    }

    /// The change of the file at `path` from `before` to `text` when only trivia and
    /// literals changed, and each changed literal is one the evaluation never used, or used
    /// but never read (`in_clan`: the file is the clan's, where the model may hold copies).
    fn literal_change(
        &self,
        db: &dyn Db,
        files: &ClanFiles,
        path: &str,
        in_clan: bool,
        before: &str,
        text: &str,
    ) -> Option<FileChange> {
        let (moved, literals) = literals_only(before, text)?;
        if literals.iter().any(|(old, _)| self.shown_at(path, *old)) {
            return None;
        }
        let found = if literals.is_empty() {
            Vec::new()
        } else {
            self.literal_edits(db, files, path, &literals)?
        };
        // Files outside the clan have no spans in the model: no copy would be found.
        if !in_clan && !found.is_empty() {
            return None;
        }
        let entered = self.entered.get(path).and_then(|old| {
            let lowered = lowered_cleanly(db, files, path)?;
            let carried = old.carried_to(&lowered, |r| moved.range(r))?;
            carried.names_moved.is_empty().then_some(carried.entered)
        });
        Some(FileChange {
            moved,
            literals: found,
            unentered: Vec::new(),
            entered,
            touched: literals.iter().map(|(old, _)| *old).collect(),
        })
    }

    /// The change of the file at `path` from `before` to `text` when its new text lowers
    /// (without errors, which would stop its import) to the old IR apart from one subtree
    /// the evaluation never entered, which holds every token that changed or went away and
    /// no text the model's builder read.
    fn unentered_change(
        &self,
        db: &dyn Db,
        files: &ClanFiles,
        path: &str,
        before: &str,
        text: &str,
    ) -> Option<FileChange> {
        let old = self.entered.get(path)?;
        let (moved, changed) = around_change(before, text)?;
        let lowered = lowered_cleanly(db, files, path)?;
        let carried = old.carried_to(&lowered, |r| moved.range(r))?;
        // One subtree differs, and every token that changed or went away is in it: text
        // outside it (a span around it included) moves with the tokens around the change.
        let [site] = carried.differ[..] else {
            return None;
        };
        if carried.differ_entered || changed.is_some_and(|c| !site.contains_range(c)) {
            return None;
        }
        if self.shown_at(path, site) {
            return None;
        }
        // An attribute now named at another path of the same set: the model must hold no
        // span at its old name (a definition's position).
        let mut unentered = carried.differ;
        unentered.extend(carried.names_moved);
        Some(FileChange {
            moved,
            literals: Vec::new(),
            touched: unentered.clone(),
            unentered,
            entered: Some(carried.entered),
        })
    }

    /// Whether the model's builder read source text of the file at `path` that overlaps
    /// `range` (or, for an empty range, touches it).
    fn shown_at(&self, path: &str, range: TextRange) -> bool {
        let shown = self.texts_shown.get(path).map_or(&[][..], |s| &s[..]);
        shown.iter().any(|s| {
            s.intersect(range)
                .is_some_and(|i| !i.is_empty() || range.is_empty())
        })
    }

    /// What the edit of the literal tokens that changed in the file at `path` (ranges in the
    /// old text and the new one) does to the model, when each is part of a literal
    /// expression alone (not a name): nothing for literals the evaluation never used; for a
    /// literal it used but never read, its range in the new text and its new value, to
    /// replace the model's copies. `None` when an edit needs the model built again.
    fn literal_edits(
        &self,
        db: &dyn Db,
        files: &ClanFiles,
        path: &str,
        literals: &[(rnix::TextRange, rnix::TextRange)],
    ) -> Option<Vec<(rnix::TextRange, LiteralValue)>> {
        let source = crate::eval::Files::source(files, db, path).ok()?;
        let lowered =
            crate::eval::lower_file(db, source, crate::eval::Limits::DEFAULT_LOWER_BUDGET);
        let used = self.literals_used.get(path).map_or(&[][..], |u| &u[..]);
        let mut edits = Vec::new();
        for (old, new) in literals {
            if !lowered.is_literal_at(*new) {
                return None;
            }
            let overlaps =
                |u: &&UsedLiteral| u.range.intersect(*old).is_some_and(|i| !i.is_empty());
            let mut uses = used.iter().filter(overlaps).peekable();
            let value = lowered.literal_value_at(*new);
            if uses.peek().is_none() {
                // `true` and `false` are names: unless the evaluation used the old one as
                // the constant, it may have been a variable the code binds.
                if matches!(value, Some((_, LiteralValue::Bool(_)))) {
                    return None;
                }
                continue;
            }
            if uses.any(|u| u.read) {
                return None;
            }
            // `inherit true;` names an attribute too: not a value alone.
            if matches!(value, Some((_, LiteralValue::Bool(_)))) && inherited_at(db, source, *new) {
                return None;
            }
            edits.push(value?);
        }
        Some(edits)
    }
}

/// The IR of the file at `path` as it is now, when it parses and lowers without errors (a
/// file with errors is not imported: nothing of it is evaluated).
fn lowered_cleanly(
    db: &dyn Db,
    files: &ClanFiles,
    path: &str,
) -> Option<Arc<crate::eval::Lowered>> {
    let source = crate::eval::Files::source(files, db, path).ok()?;
    let lowered = crate::eval::lower_file(db, source, crate::eval::Limits::DEFAULT_LOWER_BUDGET);
    (lowered.syntax_errors.is_empty() && lowered.errors.is_empty()).then(|| lowered.clone())
}

/// Whether the token at `range` of the file is a name an `inherit` lists.
fn inherited_at(db: &dyn Db, file: crate::db::SourceFile, range: rnix::TextRange) -> bool {
    let root = crate::db::parse(db, file).syntax();
    match root.covering_element(range) {
        rowan::NodeOrToken::Token(t) => t
            .parent_ancestors()
            .any(|n| n.kind() == rnix::SyntaxKind::NODE_INHERIT),
        rowan::NodeOrToken::Node(n) => n
            .ancestors()
            .any(|n| n.kind() == rnix::SyntaxKind::NODE_INHERIT),
    }
}
