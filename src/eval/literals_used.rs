//! Which literal expressions (strings, numbers, and syntax errors) an evaluation used, per
//! file: an edit that changes only literals the evaluation never used cannot change what it
//! computed, since evaluation is deterministic and lazy (the caller still has to make sure the
//! edit changed nothing else).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use super::ir::{ExprId, Lowered, Module};
use rnix::TextRange;

/// A bit per expression of each file the evaluation used a literal of.
#[derive(Default)]
pub struct LiteralsUsed {
    /// Indexed by `FileId`.
    files: RefCell<Vec<Option<FileBits>>>,
}

/// A file's IR (for the ranges) and a bit per expression.
type FileBits = (Arc<Lowered>, Vec<u64>);

impl LiteralsUsed {
    /// Notes that the value of the literal `expr` of `module` was used (read into a value).
    pub fn note(&self, module: &Module, expr: ExprId) {
        let mut files = self.files.borrow_mut();
        let file = module.file.0 as usize;
        if files.len() <= file {
            files.resize_with(file + 1, || None);
        }
        let (lowered, bits) = files[file].get_or_insert_with(|| {
            let words = module.lowered.exprs.len().div_ceil(64);
            (module.lowered.clone(), vec![0; words])
        });
        let i = expr.0 as usize;
        match bits.get_mut(i / 64) {
            Some(word) if Arc::ptr_eq(lowered, &module.lowered) => *word |= 1 << (i % 64),
            // Another IR for the same file (never expected): count the whole file as used.
            _ => bits.clear(),
        }
    }

    /// The ranges of the literals used, by file (`path_of` names a `FileId`), sorted.
    pub fn ranges(&self, path_of: impl Fn(u32) -> String) -> HashMap<String, Vec<TextRange>> {
        let files = self.files.borrow();
        let mut out = HashMap::new();
        for (file, entry) in files.iter().enumerate() {
            let Some((lowered, bits)) = entry else {
                continue;
            };
            if bits.is_empty() && !lowered.exprs.is_empty() {
                out.insert(
                    path_of(file as u32),
                    vec![TextRange::up_to(u32::MAX.into())],
                );
                continue;
            }
            let mut ranges: Vec<TextRange> = (0..lowered.exprs.len())
                .filter(|i| bits[i / 64] & (1 << (i % 64)) != 0)
                .filter_map(|i| lowered.source_map.ranges.get(i).copied())
                .collect();
            ranges.sort_by_key(|r| (r.start(), r.end()));
            out.insert(path_of(file as u32), ranges);
        }
        out
    }
}
