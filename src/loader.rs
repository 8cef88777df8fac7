//! Reads a clan directory from disk into the database: every `.nix` file (skipping `.git/`,
//! `result*` links and whatever `.gitignore` ignores), `flake.lock` and `inventory.json`, and
//! the listing of every directory walked. This, `files`, `vars` (the store), the on-disk
//! cache (`cache`) and the executor are the only places with I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::db::{Database, DirEntry, DirListing, EntryKind, SourceFile, Workspace};
use crate::file_stat::FileStat;

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
    pub stated: Stated,
}

/// The state of every directory the loader walked, every `.gitignore` it followed and every
/// file it read (relative paths, the root `""`), each stated before it was read: while each
/// states the same, loading again gives the same workspace.
#[derive(Debug, Default)]
pub struct Stated {
    pub paths: Vec<(String, FileStat)>,
    /// Whether every path read could be stated and read (else some answer came from a path
    /// that is not in `paths`).
    pub complete: bool,
}

/// Loads the clan at `root` into `db` (stating nothing: `Loaded::stated` is empty and not
/// complete).
pub fn load_clan(db: &mut Database, root: &Path) -> Result<Loaded, LoadError> {
    load_clan_with(db, root, false)
}

/// [`load_clan`], stating every directory and `.gitignore` before reading it when `state`
/// (the files read are stated anyway: opening them does).
pub fn load_clan_with(db: &mut Database, root: &Path, state: bool) -> Result<Loaded, LoadError> {
    let builtins = crate::modules::known::inputs(db);
    load_clan_beside(db, root, state, builtins)
}

/// [`load_clan_with`], with clanc's embedded modules as inputs already made (`builtins`, from
/// [`crate::modules::known::inputs`]). Sets no input, only makes new ones: another handle of
/// the database may run queries meanwhile (the analysis host lowers the embedded modules).
pub fn load_clan_beside(
    db: &mut Database,
    root: &Path,
    state: bool,
    builtins: Vec<SourceFile>,
) -> Result<Loaded, LoadError> {
    let mut stated = Stated {
        paths: Vec::new(),
        complete: state,
    };
    let Scanned {
        files: file_paths,
        listed,
        sops: sops_paths,
    } = scan(root, state.then_some(&mut stated))?;
    let mut files = Vec::with_capacity(file_paths.len());
    let mut not_utf8 = Vec::new();
    let mut total = 0;
    for (rel, path) in file_paths {
        let (text, bad, stat) = read_text(&rel, &path, &mut total)?;
        not_utf8.extend(bad);
        if state {
            stated.paths.push((rel.clone(), stat));
        }
        files.push(SourceFile::create(db, rel, text));
    }
    let dirs = (listed.into_iter())
        .map(|(rel, entries)| DirListing::new(db, rel, entries))
        .collect();
    let mut sops = Vec::with_capacity(sops_paths.len());
    for (rel, path) in sops_paths {
        match read_sops(&path) {
            Some((text, stat)) => {
                if state {
                    stated.paths.push((rel.clone(), stat));
                }
                sops.push(SourceFile::create(db, rel, text));
            }
            None => stated.complete = false,
        }
    }
    Ok(Loaded {
        workspace: Workspace::new(db, files, dirs, builtins, sops),
        not_utf8,
        stated,
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
    let Scanned {
        files: file_paths,
        listed,
        sops: sops_paths,
    } = scan(root, None)?;
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
                let (text, bad, _) = read_text(&rel, &path, &mut total)?;
                not_utf8.extend(bad);
                if *file.text(db) != text {
                    file.replace_text(db, text);
                    changed = true;
                }
                files.push(*file);
            }
            None => {
                let (text, bad, _) = read_text(&rel, &path, &mut total)?;
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
    let mut dirs = Vec::with_capacity(listed.len());
    for (rel, entries) in listed {
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
        let Some((text, _)) = read_sops(&path) else {
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

/// The clan's files (those `is_clan_file` accepts) below `root`, each as (relative path,
/// path), sorted.
type Found = Vec<(String, PathBuf)>;

/// What [`scan`] finds below a clan's directory, sorted by relative path.
struct Scanned {
    files: Found,
    listed: Listed,
    /// The sops files whose plain-text parts the checker reads (`is_sops_metadata`).
    sops: Found,
}

/// The directories walked, each as (relative path, its listing), sorted.
type Listed = Vec<(String, Vec<DirEntry>)>;

/// Walks the clan below `root`, reading each directory once: its listing (every entry but
/// an editor's lock) and the entries walked on from it. Skipped: `.git`, `result*` links,
/// editor locks and what a `.gitignore` of the directory or one above it (up to `root`)
/// ignores, the innermost rule that matches deciding (as git and ripgrep's `ignore` walker
/// do); links are not followed.
/// Each directory and `.gitignore` is stated into `stated`, when given, before it is read.
fn scan(root: &Path, mut stated: Option<&mut Stated>) -> Result<Scanned, LoadError> {
    use ignore::gitignore::Gitignore;
    if !root.is_dir() {
        return Err(LoadError::NotADirectory(root.to_path_buf()));
    }
    let mut files: Found = Vec::new();
    let mut listed: Listed = Vec::new();
    let mut sops: Found = Vec::new();
    // Directories to read: path, relative path, the `.gitignore`s above it (outermost first).
    let mut stack: Vec<(PathBuf, String, Vec<Arc<Gitignore>>)> =
        vec![(root.to_path_buf(), String::new(), Vec::new())];
    while let Some((dir, rel, mut ignores)) = stack.pop() {
        if let Some(stated) = stated.as_deref_mut() {
            state_into(stated, &dir, rel.clone());
        }
        let entries = read_entries(&dir).map_err(|e| LoadError::Unreadable {
            path: root.display().to_string(),
            reason: format!("{}: {e}", dir.display()),
        })?;
        if entries.iter().any(|(name, _)| name == ".gitignore") {
            if let Some(stated) = stated.as_deref_mut() {
                let path = dir.join(".gitignore");
                state_into(stated, &path, child_of(&rel, ".gitignore".to_string()));
            }
            ignores.push(Arc::new(gitignore_of(&dir)));
        }
        let mut listing = Vec::with_capacity(entries.len());
        for (name, kind) in entries {
            let is_link = kind.is_some_and(|k| k.is_symlink());
            if is_editor_lock(&name, is_link) {
                continue;
            }
            listing.push(DirEntry {
                name: name.clone(),
                kind: entry_kind(kind),
            });
            let Some(kind) = kind else {
                continue;
            };
            let path = dir.join(&name);
            let skipped = name == ".git" || (is_link && name.starts_with("result"));
            if skipped || is_ignored(&ignores, &path, kind.is_dir()) {
                continue;
            }
            let child = child_of(&rel, name);
            if kind.is_dir() {
                stack.push((path, child, ignores.clone()));
            } else if is_clan_file(&child) {
                // Symlinked files are read through their link (and refused if it leads to no
                // regular file); FIFOs, sockets and devices are never opened.
                if !(kind.is_file() || kind.is_symlink()) {
                    return Err(LoadError::Unreadable {
                        path: child,
                        reason: crate::files::ReadError::NotRegular(special_kind(&kind))
                            .to_string(),
                    });
                }
                files.push((child, path));
            } else if is_sops_metadata(&child) {
                sops.push((child, path));
            }
        }
        listing.sort();
        listed.push((rel, listing));
    }
    files.sort();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    sops.sort();
    Ok(Scanned {
        files,
        listed,
        sops,
    })
}

/// The relative path of the entry `name` of the directory `rel` (`""`: the clan's).
fn child_of(rel: &str, name: String) -> String {
    if rel.is_empty() {
        name
    } else {
        format!("{rel}/{name}")
    }
}

/// Adds the state of `path` (relative: `rel`) to `stated`, or marks it incomplete.
fn state_into(stated: &mut Stated, path: &Path, rel: String) {
    match FileStat::now(path) {
        Some(stat) => stated.paths.push((rel, stat)),
        None => stated.complete = false,
    }
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
fn read_sops(path: &Path) -> Option<(Arc<str>, FileStat)> {
    let (bytes, stat) =
        crate::files::read_regular_stated(path, crate::files::MAX_FILE_BYTES).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some((Arc::from(text), stat))
}

/// The entries of a directory: name (lossy) and type (not following links; `None` when it
/// cannot be told).
fn read_entries(dir: &Path) -> std::io::Result<Vec<(String, Option<std::fs::FileType>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push((name, entry.file_type().ok()));
    }
    Ok(out)
}

fn entry_kind(kind: Option<std::fs::FileType>) -> EntryKind {
    match kind {
        Some(t) if t.is_symlink() => EntryKind::Symlink,
        Some(t) if t.is_dir() => EntryKind::Directory,
        Some(t) if t.is_file() => EntryKind::Regular,
        _ => EntryKind::Unknown,
    }
}

/// The rules of `dir/.gitignore`; the lines that parse when some do not, none when it
/// cannot be read (as ripgrep's walker treats them).
fn gitignore_of(dir: &Path) -> ignore::gitignore::Gitignore {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
    let _partial = builder.add(dir.join(".gitignore"));
    builder
        .build()
        .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty())
}

/// Whether the innermost of `ignores` with a rule matching `path` ignores it.
fn is_ignored(ignores: &[Arc<ignore::gitignore::Gitignore>], path: &Path, is_dir: bool) -> bool {
    for gitignore in ignores.iter().rev() {
        match gitignore.matched(path, is_dir) {
            ignore::Match::Ignore(_) => return true,
            ignore::Match::Whitelist(_) => return false,
            ignore::Match::None => {}
        }
    }
    false
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
/// bytes of the clan read so far, held to [`crate::files::MAX_ANALYSIS_BYTES`]. With the
/// file's state before it was read.
fn read_text(
    rel: &str,
    path: &Path,
    total: &mut u64,
) -> Result<(Arc<str>, Option<NotUtf8>, FileStat), LoadError> {
    use crate::files::{MAX_ANALYSIS_BYTES, MAX_FILE_BYTES, ReadError, read_regular_stated};
    let unreadable = |reason: String| LoadError::Unreadable {
        path: rel.to_string(),
        reason,
    };
    let left = MAX_ANALYSIS_BYTES.saturating_sub(*total);
    let (bytes, stat) = match read_regular_stated(path, MAX_FILE_BYTES.min(left)) {
        Ok(read) => read,
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
        Ok(text) => (Arc::from(text), None, stat),
        Err(e) => {
            let bad = NotUtf8 {
                path: rel.to_string(),
                offset: e.utf8_error().valid_up_to(),
            };
            (
                Arc::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
                Some(bad),
                stat,
            )
        }
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

/// Whether a directory entry is an editor's lock file: Emacs marks a file being edited with a
/// symlink `.#<name>` beside it (pointing to `user@host.pid:time`, usually nowhere). Never
/// part of a flake (git does not track it) and never readable: the clan is read as if it
/// were not there, also while the language server watches the directory.
fn is_editor_lock(name: &str, is_symlink: bool) -> bool {
    is_symlink && name.starts_with(".#")
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

    /// `.gitignore` rules as git applies them (and as ripgrep's walker, which loaded clans
    /// before, did: the expected files are what it found): the innermost rule that matches
    /// decides, `!` re-includes, a leading `/` anchors to the file's directory, a trailing
    /// `/` matches directories only, a line that does not parse is skipped. Ignored entries
    /// are still listed (`builtins.readDir` sees them), ignored directories are not walked.
    #[test]
    fn gitignore_rules_decide_what_is_walked_and_listings_keep_everything() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            ".gitignore",
            "build/\n*.tmp.nix\n!keep.tmp.nix\n/anchored.nix\nsub/deep/\n\\#hash.nix\n[bad\n",
        );
        write(
            "sub/.gitignore",
            "!important.tmp.nix\nlocal.nix\n/top.nix\n",
        );
        write("sub/inner/.gitignore", "!local.nix\n");
        for rel in [
            "top.nix",
            "sub/top.nix",
            "sub/x/top.nix",
            "sub/deep/a.nix",
            "sub/local.nix",
            "sub/inner/local.nix",
            "a.tmp.nix",
            "keep.tmp.nix",
            "sub/important.tmp.nix",
            "sub/other.tmp.nix",
            "anchored.nix",
            "sub/anchored.nix",
            "#hash.nix",
            "x/build",
            "x/build2/build/b.nix",
            "build/c.nix",
            ".git/hooks/h.nix",
            "real/r.nix",
            "result.nix",
        ] {
            write(rel, "1");
        }
        std::os::unix::fs::symlink(root.join("real"), root.join("result")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("linkdir")).unwrap();
        std::os::unix::fs::symlink(root.join("real/r.nix"), root.join("sub/linked.nix")).unwrap();
        let Scanned { files, listed, .. } = scan(root, None).unwrap();
        let files: Vec<&str> = files.iter().map(|(rel, _)| rel.as_str()).collect();
        assert_eq!(
            files,
            [
                "keep.tmp.nix",
                "real/r.nix",
                "result.nix",
                "sub/anchored.nix",
                "sub/important.tmp.nix",
                "sub/inner/local.nix",
                "sub/linked.nix",
                "sub/x/top.nix",
                "top.nix",
            ]
        );
        let dirs: Vec<&str> = listed.iter().map(|(rel, _)| rel.as_str()).collect();
        assert_eq!(
            dirs,
            ["", "real", "sub", "sub/inner", "sub/x", "x", "x/build2"]
        );
        let names = |rel: &str| -> Vec<String> {
            (listed.iter().find(|(r, _)| r == rel).unwrap().1.iter())
                .map(|e| e.name.clone())
                .collect()
        };
        for name in [
            ".git",
            "build",
            "result",
            "linkdir",
            "a.tmp.nix",
            "#hash.nix",
        ] {
            assert!(names("").iter().any(|n| n == name), "{name}");
        }
        assert!(names("sub").iter().any(|n| n == "deep"));
    }
}
