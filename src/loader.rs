//! Reads a clan directory from disk into the database: every `.nix` file (skipping `.git/`,
//! `result*` links and whatever `.gitignore` ignores), `flake.lock` and `inventory.json`, and
//! the listing of every directory walked. This and the executor are the only places with I/O.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::WalkBuilder;

use crate::db::{Database, DirEntry, DirListing, EntryKind, SourceFile, Workspace};

/// Files at the clan's root that are read besides the Nix files.
const ROOT_DATA_FILES: [&str; 2] = ["flake.lock", "inventory.json"];

/// Why a clan could not be loaded. These are usage or I/O problems, not diagnostics.
#[derive(Debug)]
pub enum LoadError {
    NotADirectory(PathBuf),
    Unreadable { path: String, reason: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotADirectory(path) => {
                write!(f, "`{}` is not a directory", path.display())
            }
            LoadError::Unreadable { path, reason } => {
                write!(f, "cannot read `{path}`: {reason}")
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// A file whose bytes are not UTF-8: loaded with replacement characters, reported by callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotUtf8 {
    pub path: String,
    /// Offset of the first invalid byte, in the original bytes.
    pub offset: usize,
}

pub struct Loaded {
    pub workspace: Workspace,
    pub not_utf8: Vec<NotUtf8>,
}

/// Loads the clan at `root` into `db`.
pub fn load_clan(db: &mut Database, root: &Path) -> Result<Loaded, LoadError> {
    if !root.is_dir() {
        return Err(LoadError::NotADirectory(root.to_path_buf()));
    }
    let mut file_paths: Vec<(String, PathBuf)> = Vec::new();
    let mut dir_paths: Vec<(String, PathBuf)> = Vec::new();
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .git_global(false)
        .git_exclude(false)
        .parents(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            let is_link = entry.path_is_symlink();
            !(name == ".git" || (is_link && name.starts_with("result")))
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| LoadError::Unreadable {
            path: root.display().to_string(),
            reason: e.to_string(),
        })?;
        let Some(rel) = relative(root, entry.path()) else {
            continue;
        };
        let Some(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            dir_paths.push((rel, entry.path().to_path_buf()));
        } else if is_clan_file(&rel) {
            // Symlinked files are read through their link; FIFOs and sockets never are.
            if kind.is_file() || kind.is_symlink() {
                file_paths.push((rel, entry.path().to_path_buf()));
            }
        }
    }
    file_paths.sort();
    dir_paths.sort();

    let mut files = Vec::with_capacity(file_paths.len());
    let mut not_utf8 = Vec::new();
    for (rel, path) in file_paths {
        let bytes = read_regular_file(&path).map_err(|reason| LoadError::Unreadable {
            path: rel.clone(),
            reason,
        })?;
        let text: Arc<str> = match String::from_utf8(bytes) {
            Ok(text) => Arc::from(text),
            Err(e) => {
                not_utf8.push(NotUtf8 {
                    path: rel.clone(),
                    offset: e.utf8_error().valid_up_to(),
                });
                Arc::from(String::from_utf8_lossy(e.as_bytes()).into_owned())
            }
        };
        files.push(SourceFile::create(db, rel, text));
    }
    let mut dirs = Vec::with_capacity(dir_paths.len());
    for (rel, path) in dir_paths {
        let entries = list_dir(&path).map_err(|reason| LoadError::Unreadable {
            path: if rel.is_empty() {
                ".".to_string()
            } else {
                rel.clone()
            },
            reason,
        })?;
        dirs.push(DirListing::new(db, rel, entries));
    }
    Ok(Loaded {
        workspace: Workspace::new(db, files, dirs, crate::modules::known::inputs(db)),
        not_utf8,
    })
}

/// Whether a path relative to the clan directory names a file the clan is read from: a Nix
/// file anywhere, or one of the data files at the root.
pub fn is_clan_file(rel: &str) -> bool {
    crate::db::is_nix(rel) || ROOT_DATA_FILES.contains(&rel)
}

/// The path of `path` below `root`, with `/` separators; `""` for the root itself.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Reads a file that must be a regular file once links are followed (never a FIFO, which
/// would block, nor a directory).
fn read_regular_file(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    std::fs::read(path).map_err(|e| io_reason(&e))
}

fn list_dir(path: &Path) -> Result<Vec<DirEntry>, String> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| io_reason(&e))? {
        let entry = entry.map_err(|e| io_reason(&e))?;
        let kind = match entry.file_type() {
            Ok(t) if t.is_symlink() => EntryKind::Symlink,
            Ok(t) if t.is_dir() => EntryKind::Directory,
            Ok(t) if t.is_file() => EntryKind::Regular,
            _ => EntryKind::Unknown,
        };
        entries.push(DirEntry {
            name: entry.file_name().to_string_lossy().into_owned(),
            kind,
        });
    }
    entries.sort();
    Ok(entries)
}

/// An I/O error's reason without Rust's "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
