//! Positions: where an expression is written, the source text at a position (noted, for
//! what the embedder read), and positions shown as values (`__curPos`) or in messages.

use std::collections::HashMap;

use rnix::TextRange;

use super::Evaluator;
use crate::eval::ir::{ExprId, Module};
use crate::eval::thunk::Thunk;
use crate::eval::value::{Attr, Attrs, Value};
use crate::eval::{FileId, Pos};

impl Evaluator<'_> {
    #[inline]
    pub(super) fn pos(module: &Module, expr: ExprId) -> Pos {
        Pos {
            file: module.file,
            range: module.source_map.range(expr),
        }
    }

    /// Where the embedder read source text with [`Evaluator::pos_text`], by file path: what it
    /// computed from that text depends on all of it, entered by the evaluation or not.
    pub fn texts_shown(&self) -> HashMap<String, Vec<TextRange>> {
        let mut out: HashMap<String, Vec<TextRange>> = HashMap::new();
        for pos in self.texts_shown.borrow().iter() {
            out.entry(self.file_path(pos.file))
                .or_default()
                .push(pos.range);
        }
        out
    }

    /// The source text at a position.
    pub fn pos_text(&self, pos: Pos) -> Option<String> {
        self.texts_shown.borrow_mut().push(pos);
        let text = self.file_table.get(pos.file.0 as usize)?.text.clone();
        text.get(std::ops::Range::<usize>::from(pos.range))
            .map(str::to_string)
    }

    /// `{ file, line, column }` for a position, as `__curPos` and `unsafeGetAttrPos` give it.
    /// Like Nix, an expression given on the command line names its own text as the file.
    pub fn position_attrs(&self, pos: Pos) -> Value {
        self.positions_shown.set(true);
        let text = self.file_text(pos.file);
        let index = crate::syntax::LineIndex::new(&text);
        let lc = index.line_col(&text, pos.range.start());
        let path = self.file_path(pos.file);
        let file = if path == "«string»" {
            text.to_string()
        } else {
            path
        };
        let entry = |name: &str, v: Value| Attr {
            name: name.into(),
            value: Thunk::value(v),
            pos: None,
        };
        Value::attrs(Attrs {
            entries: vec![
                entry("column", Value::Int(i64::from(lc.column))),
                entry("file", Value::string(file)),
                entry("line", Value::Int(i64::from(lc.line))),
            ],
        })
    }

    /// `file:line:column` of a position, as Nix shows it in messages.
    pub fn describe_pos(&self, pos: Pos) -> String {
        self.positions_shown.set(true);
        let text = self.file_text(pos.file);
        let index = crate::syntax::LineIndex::new(&text);
        let lc = index.line_col(&text, pos.range.start());
        let path = self.file_path(pos.file);
        let path = if path == "«string»" {
            "(string)".to_string()
        } else {
            path
        };
        format!("{path}:{}:{}", lc.line, lc.column)
    }
}

pub(super) fn dummy_pos() -> Pos {
    Pos {
        file: FileId(0),
        range: TextRange::empty(0.into()),
    }
}

/// A position for errors that have none better.
pub fn no_pos() -> Pos {
    dummy_pos()
}
