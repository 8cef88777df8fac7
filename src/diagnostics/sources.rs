//! The texts diagnostics point into, with their line indexes, for the renderers.

use std::collections::HashMap;
use std::sync::Arc;

use rnix::TextSize;

use crate::syntax::{LineCol, LineIndex};

#[derive(Default)]
pub struct Sources {
    files: HashMap<String, (Arc<str>, LineIndex)>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    pub fn insert(&mut self, file: impl Into<String>, text: Arc<str>) {
        let index = LineIndex::new(&text);
        self.files.insert(file.into(), (text, index));
    }

    pub fn text(&self, file: &str) -> Option<&Arc<str>> {
        self.files.get(file).map(|(text, _)| text)
    }

    /// The 1-based line and column of `offset` in `file`; 1:1 for a file it does not hold.
    pub fn line_col(&self, file: &str, offset: TextSize) -> LineCol {
        match self.files.get(file) {
            Some((text, index)) => index.line_col(text, offset),
            None => LineCol { line: 1, column: 1 },
        }
    }
}
