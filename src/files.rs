//! The files the evaluator reads, for the CLI and the language server: from the disk
//! (`DiskFiles`), or from a loaded clan (`ClanFiles`: the clan's files as the database holds
//! them, possibly edited in an editor, clanc's embedded models, and the disk for the rest).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::db::{self, DirEntry, EntryKind, SourceFile, Workspace};
use crate::eval::{FileError, Files};
use crate::file_stat::FileStat;
use crate::modules::known;

/// The most one file clanc reads may hold. Measured on the corpus of 31 public clans: the
/// largest Nix file is 298 KB (a generated `bun.nix`), the largest `flake.lock` 103 KB.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// The most all the files of one analysis may hold together (the clan's files, then what its
/// evaluation reads besides). Measured on the corpus: the largest clan holds 1.6 MB of Nix.
pub const MAX_ANALYSIS_BYTES: u64 = 32 << 20;

/// Why [`read_regular`] read nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    NotFound,
    /// A FIFO, socket or device (named), or a directory: never read.
    NotRegular(&'static str),
    /// More than the limit, in bytes.
    TooLarge(u64),
    Io(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotFound => write!(f, "No such file or directory"),
            ReadError::NotRegular(kind) => {
                write!(
                    f,
                    "{kind}, not a regular file: clanc reads only regular files"
                )
            }
            ReadError::TooLarge(limit) => write!(
                f,
                "larger than {} MiB, the most clanc reads of one file",
                limit >> 20
            ),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The bytes of the regular file at `path` (links followed), at most `limit` of them. A
/// FIFO, socket or device is never read: it is opened without blocking (a FIFO without a
/// writer would block `open` forever) and refused when the opened file is not regular.
pub fn read_regular(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_regular_stated(path, limit).map(|(bytes, _)| bytes)
}

/// [`read_regular`], with the file's state as the opened file stated it before it was read
/// (a change after that states differently).
pub fn read_regular_stated(
    path: &std::path::Path,
    limit: u64,
) -> Result<(Vec<u8>, FileStat), ReadError> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(io_message(&e)),
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular(if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_dir() {
            "a directory"
        } else {
            "not a file"
        }));
    }
    // Room for the whole file as stated (and the byte that tells it ended), so the text is
    // read into one allocation rather than a doubling vector; a file that grows meanwhile
    // still reads whole, up to the limit.
    let expected = meta.len().min(limit).saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok((bytes, FileStat::of(&meta)))
}

/// Reads files from the disk into the database, once per path: regular files only, each
/// at most [`MAX_FILE_BYTES`], all of them at most [`MAX_ANALYSIS_BYTES`].
#[derive(Default)]
pub struct DiskFiles {
    loaded: RefCell<HashMap<String, SourceFile>>,
    /// Bytes read so far.
    read: std::cell::Cell<u64>,
}

impl Files for DiskFiles {
    fn source(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError> {
        if let Some(file) = self.loaded.borrow().get(path) {
            return Ok(*file);
        }
        let left = MAX_ANALYSIS_BYTES.saturating_sub(self.read.get());
        let limit = MAX_FILE_BYTES.min(left);
        let bytes = read_regular(std::path::Path::new(path), limit).map_err(|e| match e {
            ReadError::NotFound => FileError::NotFound,
            ReadError::TooLarge(_) if limit < MAX_FILE_BYTES => FileError::TooLarge(format!(
                "the files read for this analysis would pass {} MiB, the most clanc reads",
                MAX_ANALYSIS_BYTES >> 20
            )),
            ReadError::TooLarge(_) => FileError::TooLarge(e.to_string()),
            e => FileError::Other(e.to_string()),
        })?;
        self.read.set(self.read.get() + bytes.len() as u64);
        let text = String::from_utf8(bytes).map_err(|_| FileError::NotUtf8)?;
        let file = SourceFile::new(db, path.to_string(), Arc::from(text));
        self.loaded.borrow_mut().insert(path.to_string(), file);
        Ok(file)
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        let entries = std::fs::read_dir(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FileError::NotFound,
            _ => FileError::Other(io_message(&e)),
        })?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let kind = match entry.file_type() {
                Ok(t) if t.is_symlink() => EntryKind::Symlink,
                Ok(t) if t.is_dir() => EntryKind::Directory,
                Ok(t) if t.is_file() => EntryKind::Regular,
                _ => EntryKind::Unknown,
            };
            out.push(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                kind,
            });
        }
        out.sort();
        Ok(out)
    }

    fn file_type(&self, path: &str) -> Option<EntryKind> {
        let meta = std::fs::metadata(path).ok()?;
        Some(if meta.is_dir() {
            EntryKind::Directory
        } else if meta.is_file() {
            EntryKind::Regular
        } else {
            EntryKind::Unknown
        })
    }
}

/// An I/O error's text without Rust's " (os error N)" suffix, as Nix words it.
fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A loaded clan's files: paths below `root` come from the workspace (the texts the database
/// holds, which an editor may have changed), embedded models from the crate, everything else
/// from the disk.
pub struct ClanFiles {
    root: String,
    /// The workspace's files and listings by relative path (memoised by the database).
    index: Arc<db::WorkspaceIndex>,
    /// Inputs made for clanc's embedded files.
    embedded: RefCell<HashMap<String, SourceFile>>,
    disk: DiskFiles,
    /// Everything the evaluator asked, and what it was told.
    observed: RefCell<Observations>,
    /// The paths asked about, each once, in the order first asked (a file read, a
    /// directory listed, a type looked up): what one part of an evaluation read first.
    log: RefCell<Vec<(ReadKind, String)>>,
}

/// What an evaluation asked of a path ([`ClanFiles::reads_since`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReadKind {
    File,
    Listing,
    Type,
}

/// What an evaluation read through [`ClanFiles`]: file texts, directory listings and file
/// types, by path. An evaluation is a function of these (and of its root), so when they all
/// still hold, its result does too.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observations {
    sources: HashMap<String, Result<Arc<str>, FileError>>,
    /// Paths whose text became a value (`builtins.readFile`), not only code.
    read_as_text: std::collections::HashSet<String>,
    dirs: HashMap<String, Result<Vec<DirEntry>, FileError>>,
    types: HashMap<String, Option<EntryKind>>,
}

/// How the files an evaluation read have changed since.
#[derive(Debug, PartialEq)]
pub enum FilesNow {
    /// Every question is answered as before.
    Same,
    /// Only the texts of these files (absolute path, new text) changed, and only files the
    /// evaluation imported as code (not read as text): whether the change matters depends on
    /// the change.
    CodeChanged(Vec<(String, Arc<str>)>),
    /// Something else changed: a file read as text, a listing, a file type, a file that
    /// appeared or went away.
    Changed,
}

impl Observations {
    /// Whether the evaluation read the file at `path` (absolute), as code or as text.
    pub fn read_file(&self, path: &str) -> bool {
        self.sources.contains_key(path)
    }

    /// How `files` (a newer state of the clan) answers the questions asked before.
    pub fn compare(&self, db: &dyn db::Db, files: &ClanFiles) -> FilesNow {
        let same_text = |a: &Arc<str>, b: &Arc<str>| Arc::ptr_eq(a, b) || a == b;
        let listings_hold = self
            .dirs
            .iter()
            .all(|(path, before)| files.read_dir_answers(path, before))
            && self
                .types
                .iter()
                .all(|(path, before)| *before == files.file_type_unobserved(path));
        if !listings_hold {
            return FilesNow::Changed;
        }
        let mut changed = Vec::new();
        for (path, before) in &self.sources {
            let now = files
                .source_unobserved(db, path)
                .map(|f| f.text(db).clone());
            match (before, now) {
                (Ok(a), Ok(b)) if same_text(a, &b) => {}
                (Ok(_), Ok(b)) if !self.read_as_text.contains(path) => {
                    changed.push((path.clone(), b))
                }
                (Err(a), Err(b)) if *a == b => {}
                _ => return FilesNow::Changed,
            }
        }
        if changed.is_empty() {
            FilesNow::Same
        } else {
            changed.sort();
            FilesNow::CodeChanged(changed)
        }
    }

    /// Every file asked for, with what the evaluation was told (in no particular order).
    pub fn files(&self) -> impl Iterator<Item = (&str, Result<&Arc<str>, &FileError>)> {
        self.sources.iter().map(|(p, r)| (p.as_str(), r.as_ref()))
    }

    /// The files read only as code (imported, never read as text), with their texts.
    pub fn code_texts(&self) -> impl Iterator<Item = (&str, &Arc<str>)> {
        (self.sources.iter())
            .filter(|(p, _)| !self.read_as_text.contains(*p))
            .filter_map(|(p, r)| Some((p.as_str(), r.as_ref().ok()?)))
    }

    /// Every directory listed, with what the evaluation was told (in no particular order).
    pub fn listings(&self) -> impl Iterator<Item = (&str, &Result<Vec<DirEntry>, FileError>)> {
        self.dirs.iter().map(|(p, r)| (p.as_str(), r))
    }

    /// Every path whose type was asked, with the answer (in no particular order).
    pub fn types(&self) -> impl Iterator<Item = (&str, Option<EntryKind>)> {
        self.types.iter().map(|(p, t)| (p.as_str(), *t))
    }

    /// The text a file had when it was read (`None` if it was not read).
    pub fn text_of(&self, path: &str) -> Option<Result<&Arc<str>, &FileError>> {
        self.sources.get(path).map(Result::as_ref)
    }

    /// These observations with newer texts of files read before.
    pub fn with_texts(&self, texts: &[(String, Arc<str>)]) -> Observations {
        let mut newer = self.clone();
        for (path, text) in texts {
            newer.sources.insert(path.clone(), Ok(text.clone()));
        }
        newer
    }
}

impl ClanFiles {
    /// `root` is the clan directory's absolute path.
    pub fn new(db: &dyn db::Db, root: &str, workspace: Workspace) -> ClanFiles {
        let root = root.trim_end_matches('/').to_string();
        let index = Arc::clone(db::workspace_index(db, workspace));
        let embedded = workspace
            .builtins(db)
            .iter()
            .map(|f| (f.path(db).clone(), *f))
            .collect();
        ClanFiles {
            root,
            index,
            embedded: RefCell::new(embedded),
            disk: DiskFiles::default(),
            observed: RefCell::default(),
            log: RefCell::default(),
        }
    }

    /// How many paths were asked about so far (a mark for [`ClanFiles::reads_since`]).
    pub fn reads_count(&self) -> usize {
        self.log.borrow().len()
    }

    /// The paths first asked about after `mark`. A path asked before (by an earlier part of
    /// the evaluation, or a value it computed and cached) is not asked again.
    pub fn reads_since(&self, mark: usize) -> Vec<(ReadKind, String)> {
        self.log.borrow().get(mark..).unwrap_or_default().to_vec()
    }

    fn note(&self, kind: ReadKind, path: &str, new: bool) {
        if new {
            self.log.borrow_mut().push((kind, path.to_string()));
        }
    }

    /// Whether the evaluation asked for the file at `path` (absolute), as code or as text.
    pub fn has_read(&self, path: &str) -> bool {
        self.observed.borrow().read_file(path)
    }

    /// The files read from the disk (outside the workspace: the flake's inputs in the store)
    /// that the evaluation imported as code and never read as text, as database inputs.
    pub fn code_read_elsewhere(&self) -> Vec<SourceFile> {
        let observed = self.observed.borrow();
        let mut files: Vec<(String, SourceFile)> = (self.disk.loaded.borrow().iter())
            .filter(|(path, _)| !observed.read_as_text.contains(*path))
            .map(|(path, file)| (path.clone(), *file))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.into_iter().map(|(_, file)| file).collect()
    }

    /// What the evaluation asked so far.
    pub fn observations(&self) -> Observations {
        self.observed.borrow().clone()
    }

    fn source_unobserved(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError> {
        if let Some(file) = self.embedded.borrow().get(path) {
            return Ok(*file);
        }
        if let Some(file) = self.relative(path).and_then(|p| self.index.files.get(p)) {
            return Ok(*file);
        }
        if let Some(text) = known::source(path) {
            // Part of clanc: never changes while it runs.
            let file = SourceFile::builder(path.to_string(), Arc::from(text))
                .durability(salsa::Durability::HIGH)
                .new(db);
            self.embedded.borrow_mut().insert(path.to_string(), file);
            return Ok(file);
        }
        self.disk.source(db, path)
    }

    /// The workspace's listing of the directory at an absolute path, if it has one.
    fn listing(&self, path: &str) -> Option<&Vec<DirEntry>> {
        let rel = self.relative(path.trim_end_matches('/'))?;
        self.index.dirs.get(rel)
    }

    fn read_dir_unobserved(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        match self.listing(path) {
            Some(entries) => Ok(entries.clone()),
            None => self.disk.read_dir(path),
        }
    }

    /// Whether listing the directory at `path` now answers `before` (without copying the
    /// workspace's listing: a model's freshness asks this of every directory it listed).
    fn read_dir_answers(&self, path: &str, before: &Result<Vec<DirEntry>, FileError>) -> bool {
        match self.listing(path) {
            Some(entries) => before.as_ref().is_ok_and(|b| b == entries),
            None => *before == self.disk.read_dir(path),
        }
    }

    fn file_type_unobserved(&self, path: &str) -> Option<EntryKind> {
        let in_workspace = self
            .relative(path)
            .is_some_and(|p| self.index.files.contains_key(p));
        if in_workspace || known::source(path).is_some() {
            return Some(EntryKind::Regular);
        }
        if self.listing(path).is_some() {
            return Some(EntryKind::Directory);
        }
        self.disk.file_type(path)
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// The path relative to the clan directory, for paths inside it.
    pub fn relative<'p>(&self, path: &'p str) -> Option<&'p str> {
        if path == self.root {
            return Some("");
        }
        path.strip_prefix(&self.root)?.strip_prefix('/')
    }
}

/// Records the first answer to a question about `path` (later ones are the same answer);
/// whether this was the first time it was asked.
fn first_seen<V>(answers: &mut HashMap<String, V>, path: &str, answer: impl FnOnce() -> V) -> bool {
    if answers.contains_key(path) {
        return false;
    }
    answers.insert(path.to_string(), answer());
    true
}

impl Files for ClanFiles {
    fn source(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError> {
        let result = self.source_unobserved(db, path);
        let seen = result
            .as_ref()
            .map(|f| f.text(db).clone())
            .map_err(Clone::clone);
        let new = first_seen(&mut self.observed.borrow_mut().sources, path, || seen);
        self.note(ReadKind::File, path, new);
        result
    }

    fn read_text(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError> {
        self.observed
            .borrow_mut()
            .read_as_text
            .insert(path.to_string());
        self.source(db, path)
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        let result = self.read_dir_unobserved(path);
        let new = first_seen(&mut self.observed.borrow_mut().dirs, path, || {
            result.clone()
        });
        self.note(ReadKind::Listing, path, new);
        result
    }

    fn file_type(&self, path: &str) -> Option<EntryKind> {
        let result = self.file_type_unobserved(path);
        let new = first_seen(&mut self.observed.borrow_mut().types, path, || result);
        self.note(ReadKind::Type, path, new);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Database, DirListing, EntryKind};

    /// A workspace whose only directory, `modules`, lists `names`.
    fn workspace_listing(db: &Database, names: &[&str]) -> Workspace {
        let entries = (names.iter())
            .map(|n| DirEntry {
                name: n.to_string(),
                kind: EntryKind::Regular,
            })
            .collect();
        let dirs = vec![DirListing::new(db, "modules".to_string(), entries)];
        Workspace::new(db, Vec::new(), dirs, Vec::new(), Vec::new())
    }

    #[test]
    fn a_listing_read_before_holds_only_while_the_directory_lists_the_same() {
        let db = Database::default();
        let before = ClanFiles::new(&db, "/clan", workspace_listing(&db, &["a.nix"]));
        let listed = before.read_dir("/clan/modules").expect("listed");
        assert_eq!(listed.len(), 1);
        let seen = before.observations();
        let same = ClanFiles::new(&db, "/clan", workspace_listing(&db, &["a.nix"]));
        assert_eq!(seen.compare(&db, &same), FilesNow::Same);
        let grown = ClanFiles::new(&db, "/clan", workspace_listing(&db, &["a.nix", "b.nix"]));
        assert_eq!(seen.compare(&db, &grown), FilesNow::Changed);
        let renamed = ClanFiles::new(&db, "/clan", workspace_listing(&db, &["c.nix"]));
        assert_eq!(seen.compare(&db, &renamed), FilesNow::Changed);
    }
}
