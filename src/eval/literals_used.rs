//! Which literal expressions (strings, numbers, and syntax errors) an evaluation used, per
//! file, and which of them it read: an edit that changes only literals the evaluation never
//! used cannot change what it computed, since evaluation is deterministic and lazy (the caller
//! still has to make sure the edit changed nothing else). A string or number literal that was
//! used but never read (its values were only passed around) changed only the values made from
//! it: where the embedder copied them out ([`NixString::copy_out`],
//! [`Thunk::literal_number`]) it can apply the edit itself. A number counts as read when its
//! value is taken out of its thunk (forced or peeked), and when it is evaluated where no thunk
//! holds it (an operand, an `if` branch); interpolated strings and syntax errors count as read
//! as soon as they are used.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::Pos;
use super::ir::{ExprId, Lowered, Module};
use super::thunk::{Thunk, ThunkState};
use super::value::{LiteralMark, NixString, Value};
use rnix::TextRange;

/// A literal expression the evaluation used: where it is, and whether it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsedLiteral {
    pub range: TextRange,
    pub read: bool,
}

/// Per file, what the evaluation used of it.
#[derive(Default)]
pub struct LiteralsUsed {
    /// Indexed by `FileId`.
    files: RefCell<Vec<Option<FileUse>>>,
}

struct FileUse {
    /// The file's IR (for the ranges).
    lowered: Arc<Lowered>,
    /// A bit per expression: used, and read (literals evaluated where no thunk holds them,
    /// interpolations, errors). Empty when the file showed up with another IR: then the
    /// whole file counts as read.
    used: Vec<u64>,
    read: Vec<u64>,
    /// The mark of each string or number literal evaluated into a value that notes reads,
    /// by expression (empty until the first).
    marks: Vec<Option<Rc<LiteralMark>>>,
}

impl LiteralsUsed {
    /// Notes that the value of the literal `expr` of `module` was used and read.
    pub fn note(&self, module: &Module, expr: ExprId) {
        self.with_file(module, |file| {
            let (word, bit) = (expr.0 as usize / 64, 1 << (expr.0 % 64));
            if let (Some(u), Some(r)) = (file.used.get_mut(word), file.read.get_mut(word)) {
                *u |= bit;
                *r |= bit;
            }
        });
    }

    /// The value of the string literal `expr` of `module`, whose text is `text`: noted as
    /// used, and read once its text is.
    pub fn string(&self, module: &Module, expr: ExprId, text: &str) -> Value {
        match self.mark(module, expr) {
            Some(mark) => Value::String(Rc::new(NixString::literal(text.to_string(), mark))),
            None => Value::string(text),
        }
    }

    /// A thunk holding `value`, the value of the number literal (or the `true` or `false`)
    /// `expr` of `module`: noted as used, and read once the value is taken out of the thunk.
    pub fn number(&self, module: &Module, expr: ExprId, value: Value) -> Thunk {
        match self.mark(module, expr) {
            Some(mark) => Thunk(Rc::new(RefCell::new(ThunkState::Literal(Box::new((
                value, mark,
            )))))),
            None => Thunk::value(value),
        }
    }

    /// Notes the literal `expr` of `module` as used, and gives its mark.
    fn mark(&self, module: &Module, expr: ExprId) -> Option<Rc<LiteralMark>> {
        let mut mark = None;
        self.with_file(module, |file| {
            let (word, bit) = (expr.0 as usize / 64, 1 << (expr.0 % 64));
            if let Some(u) = file.used.get_mut(word) {
                *u |= bit;
                if file.marks.is_empty() {
                    file.marks.resize(file.lowered.exprs.len(), None);
                }
                if let Some(slot) = file.marks.get_mut(expr.0 as usize) {
                    let pos = Pos {
                        file: module.file,
                        range: module.source_map.range(expr),
                    };
                    mark = Some(
                        slot.get_or_insert_with(|| Rc::new(LiteralMark::new(pos)))
                            .clone(),
                    );
                }
            }
        });
        mark
    }

    fn with_file(&self, module: &Module, f: impl FnOnce(&mut FileUse)) {
        let mut files = self.files.borrow_mut();
        let index = module.file.0 as usize;
        if files.len() <= index {
            files.resize_with(index + 1, || None);
        }
        let file = files[index].get_or_insert_with(|| {
            let words = module.lowered.exprs.len().div_ceil(64);
            FileUse {
                lowered: module.lowered.clone(),
                used: vec![0; words],
                read: vec![0; words],
                marks: Vec::new(),
            }
        });
        if Arc::ptr_eq(&file.lowered, &module.lowered) {
            f(file)
        } else {
            // Another IR for the same file (never expected): count the whole file as read.
            file.used.clear();
            file.read.clear();
        }
    }

    /// The literals used, by file (`path_of` names a `FileId`), sorted by range.
    pub fn ranges(&self, path_of: impl Fn(u32) -> String) -> HashMap<String, Vec<UsedLiteral>> {
        let files = self.files.borrow();
        let mut out = HashMap::new();
        for (index, entry) in files.iter().enumerate() {
            let Some(file) = entry else {
                continue;
            };
            let exprs = file.lowered.exprs.len();
            if file.used.is_empty() && exprs > 0 {
                let whole = UsedLiteral {
                    range: TextRange::up_to(u32::MAX.into()),
                    read: true,
                };
                out.insert(path_of(index as u32), vec![whole]);
                continue;
            }
            let bit = |bits: &[u64], i: usize| bits[i / 64] & (1 << (i % 64)) != 0;
            let mut used: Vec<UsedLiteral> = (0..exprs)
                .filter(|&i| bit(&file.used, i))
                .filter_map(|i| {
                    let range = *file.lowered.source_map.ranges.get(i)?;
                    let read = bit(&file.read, i)
                        || file
                            .marks
                            .get(i)
                            .and_then(Option::as_ref)
                            .is_none_or(|m| m.was_read());
                    Some(UsedLiteral { range, read })
                })
                .collect();
            used.sort_by_key(|u| (u.range.start(), u.range.end()));
            out.insert(path_of(index as u32), used);
        }
        out
    }
}
