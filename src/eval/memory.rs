//! `Files` over an in-memory map of absolute paths to texts: for tests, benches, fuzzing
//! and editors holding unsaved buffers.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{FileError, Files};
use crate::db::{self, DirEntry, EntryKind, SourceFile};

#[derive(Default)]
pub struct MemoryFiles {
    texts: BTreeMap<String, String>,
    loaded: RefCell<HashMap<String, SourceFile>>,
}

impl MemoryFiles {
    pub fn new() -> MemoryFiles {
        MemoryFiles::default()
    }

    /// Adds a file at an absolute path (directories are implied by the paths).
    pub fn with(mut self, path: &str, text: &str) -> MemoryFiles {
        self.texts.insert(path.to_string(), text.to_string());
        self
    }

    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.texts.keys().any(|k| k.starts_with(&prefix))
    }
}

impl Files for MemoryFiles {
    fn source(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError> {
        if let Some(file) = self.loaded.borrow().get(path) {
            return Ok(*file);
        }
        let text = self.texts.get(path).ok_or(FileError::NotFound)?;
        let file = SourceFile::new(db, path.to_string(), Arc::from(text.as_str()));
        self.loaded.borrow_mut().insert(path.to_string(), file);
        Ok(file)
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        if !self.is_dir(path) {
            return Err(FileError::NotFound);
        }
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let mut entries: Vec<DirEntry> = Vec::new();
        for key in self.texts.keys() {
            if let Some(rest) = key.strip_prefix(&prefix) {
                let (name, kind) = match rest.split_once('/') {
                    Some((dir, _)) => (dir, EntryKind::Directory),
                    None => (rest, EntryKind::Regular),
                };
                if !entries.iter().any(|e| e.name == name) {
                    entries.push(DirEntry {
                        name: name.to_string(),
                        kind,
                    });
                }
            }
        }
        entries.sort();
        Ok(entries)
    }

    fn file_type(&self, path: &str) -> Option<EntryKind> {
        if self.texts.contains_key(path) {
            Some(EntryKind::Regular)
        } else if self.is_dir(path) {
            Some(EntryKind::Directory)
        } else {
            None
        }
    }
}
