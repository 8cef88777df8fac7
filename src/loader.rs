//! Reads a clan directory from disk into the database: every `.nix` file (skipping `.git/`,
//! `result*` links and whatever `.gitignore` ignores), `flake.lock` and `inventory.json`, and
//! the listing of every directory walked. This and the executor are the only places with I/O.

use std::collections::{BTreeMap, BTreeSet};
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

pub use crate::db::NotUtf8;

pub struct Loaded {
    pub workspace: Workspace,
    pub not_utf8: Vec<NotUtf8>,
}

/// Loads the clan at `root` into `db`.
pub fn load_clan(db: &mut Database, root: &Path) -> Result<Loaded, LoadError> {
    let Found {
        files: file_paths,
        dirs: dir_paths,
        sops: sops_paths,
    } = scan(root)?;
    let mut files = Vec::with_capacity(file_paths.len());
    let mut not_utf8 = Vec::new();
    let mut total = 0;
    for (rel, path) in file_paths {
        let (text, bad) = read_text(&rel, &path, &mut total)?;
        not_utf8.extend(bad);
        files.push(SourceFile::create(db, rel, text));
    }
    let mut dirs = Vec::with_capacity(dir_paths.len());
    for (rel, path) in dir_paths {
        dirs.push(DirListing::new(db, rel.clone(), read_listing(&rel, &path)?));
    }
    let sops = (sops_paths.into_iter())
        .filter_map(|(rel, path)| Some(SourceFile::create(db, rel, read_sops(&path)?)))
        .collect();
    Ok(Loaded {
        workspace: Workspace::new(db, files, dirs, crate::modules::known::inputs(db), sops),
        not_utf8,
    })
}

/// The clan directory as an absolute, canonical path (the evaluator works with those).
pub fn absolute(path: &Path) -> PathBuf {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// A workspace with no files in it, for a clan that could not be read yet: [`refresh`]
/// reads it whole into this once it can be.
pub fn empty_workspace(db: &mut Database) -> Workspace {
    Workspace::new(
        db,
        Vec::new(),
        Vec::new(),
        crate::modules::known::inputs(db),
        Vec::new(),
    )
}

/// What [`refresh_with`] found.
pub struct Refreshed {
    /// Whether anything changed.
    pub changed: bool,
    /// The files read from disk that are not UTF-8 (as [`Loaded::not_utf8`]).
    pub not_utf8: Vec<NotUtf8>,
}

/// Brings a loaded workspace up to date with the disk after files changed outside the editor
/// (the language server's `workspace/didChangeWatchedFiles`). Only what differs is written, so
/// salsa re-checks only what depends on it. Files for which `open(rel)` holds are the editor's:
/// their text stays, and they stay even when gone from disk. Returns whether anything changed.
pub fn refresh(
    db: &mut Database,
    root: &Path,
    workspace: Workspace,
    open: &dyn Fn(&str) -> bool,
) -> Result<bool, LoadError> {
    refresh_with(db, root, workspace, open).map(|r| r.changed)
}

/// [`refresh`], also saying which files read from disk are not UTF-8.
pub fn refresh_with(
    db: &mut Database,
    root: &Path,
    workspace: Workspace,
    open: &dyn Fn(&str) -> bool,
) -> Result<Refreshed, LoadError> {
    use salsa::Setter as _;
    let Found {
        files: file_paths,
        dirs: dir_paths,
        sops: sops_paths,
    } = scan(root)?;
    let mut changed = false;
    let mut not_utf8 = Vec::new();
    let mut total = 0;

    let old_files: BTreeMap<String, SourceFile> = workspace
        .files(db)
        .iter()
        .map(|f| (f.path(db).clone(), *f))
        .collect();
    let mut files = Vec::with_capacity(file_paths.len());
    let mut on_disk = BTreeSet::new();
    for (rel, path) in file_paths {
        on_disk.insert(rel.clone());
        match old_files.get(&rel) {
            Some(file) if open(&rel) => files.push(*file),
            Some(file) => {
                let (text, bad) = read_text(&rel, &path, &mut total)?;
                not_utf8.extend(bad);
                if *file.text(db) != text {
                    file.replace_text(db, text);
                    changed = true;
                }
                files.push(*file);
            }
            None => {
                let (text, bad) = read_text(&rel, &path, &mut total)?;
                not_utf8.extend(bad);
                files.push(SourceFile::create(db, rel, text));
                changed = true;
            }
        }
    }
    for (rel, file) in &old_files {
        if !on_disk.contains(rel) {
            if open(rel) {
                files.push(*file);
            } else {
                changed = true;
            }
        }
    }
    files.sort_by(|a, b| a.path(db).cmp(b.path(db)));
    let file_list_changed =
        files.len() != old_files.len() || files.iter().zip(old_files.values()).any(|(a, b)| a != b);
    if file_list_changed {
        workspace.set_files(db).to(files);
    }

    let old_dirs: BTreeMap<String, DirListing> = workspace
        .dirs(db)
        .iter()
        .map(|d| (d.path(db).clone(), *d))
        .collect();
    let mut dirs = Vec::with_capacity(dir_paths.len());
    for (rel, path) in dir_paths {
        let entries = read_listing(&rel, &path)?;
        match old_dirs.get(&rel) {
            Some(dir) => {
                if *dir.entries(db) != entries {
                    dir.set_entries(db).to(entries);
                    changed = true;
                }
                dirs.push(*dir);
            }
            None => {
                dirs.push(DirListing::new(db, rel, entries));
                changed = true;
            }
        }
    }
    if dirs.len() != old_dirs.len() || dirs.iter().zip(old_dirs.values()).any(|(a, b)| a != b) {
        workspace.set_dirs(db).to(dirs);
        changed = true;
    }
    changed |= refresh_sops(db, workspace, sops_paths);
    Ok(Refreshed {
        changed: changed || file_list_changed,
        not_utf8,
    })
}

/// Brings the workspace's sops files up to date with `found` on disk; returns whether any
/// changed, appeared or went away.
fn refresh_sops(db: &mut Database, workspace: Workspace, found: Vec<(String, PathBuf)>) -> bool {
    use salsa::Setter as _;
    let old: BTreeMap<String, SourceFile> = (workspace.sops(db).iter())
        .map(|f| (f.path(db).clone(), *f))
        .collect();
    let mut changed = false;
    let mut sops = Vec::with_capacity(found.len());
    for (rel, path) in found {
        let Some(text) = read_sops(&path) else {
            continue;
        };
        match old.get(&rel) {
            Some(file) => {
                if *file.text(db) != text {
                    file.replace_text(db, text);
                    changed = true;
                }
                sops.push(*file);
            }
            None => sops.push(SourceFile::create(db, rel, text)),
        }
    }
    if sops.len() != old.len() || sops.iter().zip(old.values()).any(|(a, b)| a != b) {
        workspace.set_sops(db).to(sops);
        changed = true;
    }
    changed
}

/// What [`scan`] finds below a clan's directory, each as (relative path, path), sorted.
struct Found {
    /// The clan's files (those `is_clan_file` accepts).
    files: Vec<(String, PathBuf)>,
    dirs: Vec<(String, PathBuf)>,
    /// The sops files whose plain-text parts the checker reads (`is_sops_metadata`).
    sops: Vec<(String, PathBuf)>,
}

fn scan(root: &Path) -> Result<Found, LoadError> {
    if !root.is_dir() {
        return Err(LoadError::NotADirectory(root.to_path_buf()));
    }
    let mut file_paths = Vec::new();
    let mut dir_paths = Vec::new();
    let mut sops_paths = Vec::new();
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
            !(name == ".git"
                || (is_link && name.starts_with("result"))
                || is_editor_lock(&name, is_link))
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
            // Symlinked files are read through their link (and refused if it leads to no
            // regular file); FIFOs, sockets and devices are never opened.
            if !(kind.is_file() || kind.is_symlink()) {
                return Err(LoadError::Unreadable {
                    path: rel,
                    reason: crate::files::ReadError::NotRegular(special_kind(&kind)).to_string(),
                });
            }
            file_paths.push((rel, entry.path().to_path_buf()));
        } else if is_sops_metadata(&rel) {
            sops_paths.push((rel, entry.path().to_path_buf()));
        }
    }
    file_paths.sort();
    dir_paths.sort();
    sops_paths.sort();
    Ok(Found {
        files: file_paths,
        dirs: dir_paths,
        sops: sops_paths,
    })
}

/// Whether `rel` is a sops file the checker reads for its plain-text parts: an age key
/// (`sops/users/<u>/key.json`, `sops/machines/<m>/key.json`) or a secret var
/// (`vars/per-machine/<m>/<gen>/<file>/secret`, `vars/shared/<gen>/<file>/secret`).
pub fn is_sops_metadata(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    matches!(
        parts.as_slice(),
        ["sops", "users" | "machines", _, "key.json"]
            | ["vars", "per-machine", _, _, _, "secret"]
            | ["vars", "shared", _, _, "secret"]
    )
}

/// The text of a sops file, if it is a regular file (or a link to one) of UTF-8 within the
/// size limit; else it is left to the disk (the checker reads what it can, as before).
fn read_sops(path: &Path) -> Option<Arc<str>> {
    let bytes = crate::files::read_regular(path, crate::files::MAX_FILE_BYTES).ok()?;
    String::from_utf8(bytes).ok().map(Arc::from)
}

fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

/// A file's text; bytes that are not UTF-8 are replaced, and reported. `total` counts the
/// bytes of the clan read so far, held to [`crate::files::MAX_ANALYSIS_BYTES`].
fn read_text(
    rel: &str,
    path: &Path,
    total: &mut u64,
) -> Result<(Arc<str>, Option<NotUtf8>), LoadError> {
    use crate::files::{MAX_ANALYSIS_BYTES, MAX_FILE_BYTES, ReadError, read_regular};
    let unreadable = |reason: String| LoadError::Unreadable {
        path: rel.to_string(),
        reason,
    };
    let left = MAX_ANALYSIS_BYTES.saturating_sub(*total);
    let bytes = match read_regular(path, MAX_FILE_BYTES.min(left)) {
        Ok(bytes) => bytes,
        Err(ReadError::TooLarge(_)) if left < MAX_FILE_BYTES => {
            return Err(unreadable(format!(
                "the clan's files pass {} MiB together, the most clanc reads",
                MAX_ANALYSIS_BYTES >> 20
            )));
        }
        Err(e) => return Err(unreadable(e.to_string())),
    };
    *total += bytes.len() as u64;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => (Arc::from(text), None),
        Err(e) => {
            let bad = NotUtf8 {
                path: rel.to_string(),
                offset: e.utf8_error().valid_up_to(),
            };
            (
                Arc::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
                Some(bad),
            )
        }
    })
}

fn read_listing(rel: &str, path: &Path) -> Result<Vec<DirEntry>, LoadError> {
    list_dir(path).map_err(|reason| LoadError::Unreadable {
        path: if rel.is_empty() {
            ".".to_string()
        } else {
            rel.to_string()
        },
        reason,
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
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_editor_lock(&name, kind == EntryKind::Symlink) {
            continue;
        }
        entries.push(DirEntry { name, kind });
    }
    entries.sort();
    Ok(entries)
}

/// Whether a directory entry is an editor's lock file: Emacs marks a file being edited with a
/// symlink `.#<name>` beside it (pointing to `user@host.pid:time`, usually nowhere). Never
/// part of a flake (git does not track it) and never readable: the clan is read as if it
/// were not there, also while the language server watches the directory.
fn is_editor_lock(name: &str, is_symlink: bool) -> bool {
    is_symlink && name.starts_with(".#")
}

/// An I/O error's reason without Rust's "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(db: &Database, workspace: Workspace) -> Vec<String> {
        workspace
            .files(db)
            .iter()
            .map(|f| f.path(db).clone())
            .collect()
    }

    #[test]
    fn refresh_writes_only_what_changed_and_keeps_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("flake.nix"), "{ }").unwrap();
        std::fs::write(root.join("a.nix"), "1").unwrap();
        std::fs::create_dir_all(root.join("vars/per-machine")).unwrap();
        let mut db = Database::default();
        let workspace = load_clan(&mut db, root).unwrap().workspace;
        let none = |_: &str| false;
        assert!(
            !refresh(&mut db, root, workspace, &none).unwrap(),
            "nothing changed"
        );

        std::fs::write(root.join("a.nix"), "2").unwrap();
        std::fs::write(root.join("b.nix"), "3").unwrap();
        std::fs::remove_file(root.join("flake.nix")).unwrap();
        std::fs::create_dir_all(root.join("vars/per-machine/m")).unwrap();
        assert!(refresh(&mut db, root, workspace, &none).unwrap());
        assert_eq!(paths(&db, workspace), ["a.nix", "b.nix"]);
        let a = workspace.files(&db)[0];
        assert_eq!(&**a.text(&db), "2");
        let listing = workspace
            .dirs(&db)
            .iter()
            .find(|d| d.path(&db) == "vars/per-machine")
            .map(|d| d.entries(&db).clone())
            .unwrap();
        assert_eq!(listing.len(), 1);
        assert_eq!(listing[0].name, "m");

        // an open document keeps the editor's text and survives its deletion on disk
        a.replace_text(&mut db, Arc::from("editor"));
        std::fs::remove_file(root.join("a.nix")).unwrap();
        let open = |rel: &str| rel == "a.nix";
        // (the root's listing did change: `builtins.readDir ./.` no longer sees it)
        assert!(refresh(&mut db, root, workspace, &open).unwrap());
        assert_eq!(paths(&db, workspace), ["a.nix", "b.nix"]);
        assert_eq!(&**workspace.files(&db)[0].text(&db), "editor");
    }

    /// Emacs's lock file beside a file being edited (a symlink to nowhere) is not read: the
    /// clan loads, and a lock appearing while the server watches changes nothing.
    #[test]
    fn an_editors_lock_file_is_not_part_of_the_clan() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("flake.nix"), "{ }").unwrap();
        std::fs::create_dir_all(root.join("modules")).unwrap();
        std::fs::write(root.join("modules/site.nix"), "1").unwrap();
        let lock = root.join("modules/.#site.nix");
        std::os::unix::fs::symlink("ada@desk.4242:1764230000", &lock).unwrap();
        let mut db = Database::default();
        let workspace = load_clan(&mut db, root).unwrap().workspace;
        assert_eq!(paths(&db, workspace), ["flake.nix", "modules/site.nix"]);
        let listing = (workspace.dirs(&db).iter())
            .find(|d| d.path(&db) == "modules")
            .map(|d| d.entries(&db).clone())
            .unwrap();
        let names: Vec<&str> = listing.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["site.nix"]);

        std::fs::remove_file(&lock).unwrap();
        let none = |_: &str| false;
        assert!(!refresh(&mut db, root, workspace, &none).unwrap());
        std::os::unix::fs::symlink("ada@desk.4242:1764230001", &lock).unwrap();
        assert!(!refresh(&mut db, root, workspace, &none).unwrap());
        // a dangling link of another name is still an error (`tests/golden/dangling-symlink`)
        std::os::unix::fs::symlink("nowhere.nix", root.join("modules/broken.nix")).unwrap();
        assert!(load_clan(&mut Database::default(), root).is_err());
    }
}
