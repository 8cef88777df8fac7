//! A check answered from an entry without loading the clan: when every path the loader read
//! states as it did when the entry was written (`snapshot`), loading would give the same
//! workspace, so every file's syntax diagnostics and every answer the evaluation got from the
//! workspace are the entry's. What the evaluation read elsewhere (files outside the clan or
//! ignored in it, store paths) is asked again as on every hit, and so are the sops facts when
//! the entry holds no state of theirs. Only the files the diagnostics point into are read, for
//! their snippets, each checked against its digest.
//!
//! When the only paths that state otherwise are files of the workspace (not `flake.lock`), those
//! files alone are read again: one whose text is the same (touched, rewritten as it was) keeps
//! its diagnostics, one whose text changed has its syntax checked again, as a loaded hit
//! would; and the entry learns their new states. A changed file the evaluation read must be
//! one it imported as code, edited where that leaves the model as it was (`code_edit`: the
//! model's diagnostics then move with the text); one the model's diagnostics point into
//! without the evaluation having read it needs the model.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::code_kept::KeptCode;
use super::digest;
use super::entry::{CachedDiagnostic, Entry, FileEntry, ModelEntry, cache_all, restore_all};
use super::observed::{self, IN_STORE, Kind, Observed, TextDigests};
use super::run::{assemble, unread_rule};
use super::snapshot::{Snapshot, racy};
use super::stated_tree::read_sops;
use crate::db::{Database, SourceFile, Workspace};
use crate::diagnostics::Diagnostic;
use crate::file_stat::FileStat;

/// The check an unchanged clan gets from its entry.
pub struct Unchanged {
    pub diagnostics: Vec<Diagnostic>,
    /// The texts of the files the diagnostics point into, by relative path.
    pub texts: HashMap<String, Arc<str>>,
    /// How many paths were stated.
    pub stated: usize,
    /// The files read again because they state otherwise.
    pub reread: Vec<Reread>,
    /// When files the evaluation imported were edited in ways that leave the model as it
    /// was: the entry's new model part, the kept code after the edits, how many files.
    pub edited: Option<(ModelEntry, KeptCode, usize)>,
}

/// A file of the workspace that stated otherwise, read again.
pub struct Reread {
    /// Its index in the entry's files and in the snapshot's paths.
    pub file: usize,
    pub path: usize,
    /// Its new entry (digest, syntax diagnostics) and text.
    pub entry: FileEntry,
    pub text: Arc<str>,
    /// Its new state, when it can be trusted.
    pub stat: Option<FileStat>,
    /// Whether its text changed (else it was only touched).
    pub changed: bool,
    /// The evaluation imported it as code: then an edit of it must leave the model as it
    /// was (its text, when it changed, is `source` in the answer's database).
    pub code: Option<SourceFile>,
}

/// The check of the clan at `root` (absolute, as the entry was written for) from `entry`,
/// when nothing the model depends on changed, or only files the evaluation imported as code
/// in ways that leave the model as it was (`kept`, read only then, says); else why not.
/// `began`: when the check began. `edits_need_model` is set when edits of code were asked
/// about and need the model built (a loaded check would find the same: it need not ask).
pub fn answer(
    entry: &Entry,
    root: &str,
    began: SystemTime,
    kept: impl FnOnce() -> Option<KeptCode>,
    edits_need_model: &mut bool,
) -> Result<Unchanged, String> {
    let snapshot = (entry.snapshot.as_ref()).ok_or("the entry keeps no state of the clan")?;
    let (changed, sops_changed) = snapshot.changed(Path::new(root));
    if let Some(path) = sops_changed {
        return Err(format!("`{path}` states otherwise"));
    }
    let mut db = Database::default();
    let reread = (changed.into_iter())
        .map(|i| read_again(&mut db, entry, snapshot, i, root, began))
        .collect::<Result<Vec<_>, String>>()?;
    if let Some(o) = first_changed_elsewhere(entry, snapshot, root) {
        return Err(format!("what the evaluation read changed: {}", o.path));
    }
    let edited = code_edited(&mut db, entry, root, &reread, kept)
        .inspect_err(|_| *edits_need_model = true)?;
    let model = edited.as_ref().map_or(&entry.model, |(model, _, _)| model);
    if snapshot.sops.is_none()
        && read_sops(root, &model.legacy_sops_files).digest != model.sops_facts
    {
        return Err("the sops files changed".into());
    }
    let mut files: Vec<&FileEntry> = entry.files.iter().collect();
    for r in &reread {
        files[r.file] = &r.entry;
    }
    let fresh: HashMap<&str, &Arc<str>> = (reread.iter())
        .map(|r| (r.entry.path.as_str(), &r.text))
        .collect();
    let texts = read_texts(&files, model, snapshot, root, &fresh)?;
    let damaged = || "the entry is damaged".to_string();
    let per_file = (files.iter())
        .map(|f| restore_all(&f.diagnostics, &texts))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(damaged)?;
    let model_diagnostics = restore_all(&model.diagnostics, &texts).ok_or_else(damaged)?;
    let notes = restore_all(&model.notes, &texts).ok_or_else(damaged)?;
    let mut diagnostics = assemble(
        per_file,
        &unread_rule(root, model.has_flake, &model.observed),
        model_diagnostics,
        notes,
    );
    for file in snapshot.not_utf8() {
        let text = texts.get(&file.path).map_or("", |t| t.as_ref());
        // The first bad byte lies on a character boundary of the text read with it replaced.
        if !text.is_char_boundary(file.offset.min(text.len())) {
            return Err(damaged());
        }
        diagnostics.push(crate::check::not_utf8_diagnostic(&file, text));
    }
    Ok(Unchanged {
        diagnostics,
        texts,
        stated: snapshot.paths.len() + snapshot.sops.as_ref().map_or(0, Vec::len),
        reread,
        edited,
    })
}

/// When files the evaluation imported as code were read again with a new text: whether the
/// edits leave the model as it was (the entry's model part after them), asked as a loaded
/// check asks it, of a workspace holding those files alone; else why not.
fn code_edited(
    db: &mut Database,
    entry: &Entry,
    root: &str,
    reread: &[Reread],
    kept: impl FnOnce() -> Option<KeptCode>,
) -> Result<Option<(ModelEntry, KeptCode, usize)>, String> {
    let sources: Vec<SourceFile> = reread.iter().filter_map(|r| r.code).collect();
    if sources.is_empty() {
        return Ok(None);
    }
    let root = root.trim_end_matches('/');
    let paths: HashSet<String> = (sources.iter())
        .map(|f| format!("{root}/{}", f.path(db)))
        .collect();
    let changed: Vec<&Observed> = (entry.model.observed.iter())
        .filter(|o| o.kind == Kind::File && paths.contains(&o.path))
        .collect();
    // Only the edited files are asked for: no directory, no sops file, none of clanc's modules.
    let workspace = Workspace::new(db, sources.clone(), Vec::new(), Vec::new(), Vec::new());
    let (after, kept) = super::code_edit::model_after_edits(
        db,
        root,
        workspace,
        kept(),
        &changed,
        &entry.model,
        &mut TextDigests::default(),
    )?;
    Ok(Some((after, kept, sources.len())))
}

/// Reads again the path `snapshot.paths[i]`, which states otherwise: a file of the workspace
/// whose syntax is checked again in `db` when its text changed (one the evaluation read is
/// the caller's to judge); else why the model cannot be trusted.
fn read_again(
    db: &mut Database,
    entry: &Entry,
    snapshot: &Snapshot,
    i: usize,
    root: &str,
    began: SystemTime,
) -> Result<Reread, String> {
    let (rel, _) = &snapshot.paths[i];
    let otherwise = || format!("`{rel}` states otherwise");
    let file = (entry.files.iter().position(|f| f.path == *rel)).ok_or_else(otherwise)?;
    let absolute = format!("{}/{rel}", root.trim_end_matches('/'));
    // A file the evaluation read (as code, it may be an edit that leaves the model as it was:
    // the caller asks), or one the model's diagnostics show.
    let read_by_model =
        (entry.model.observed.iter()).any(|o| o.kind == Kind::File && o.path == absolute);
    let needs_model = rel == "flake.lock"
        || (!read_by_model && (entry.model.span_files.iter()).any(|(p, _)| p == rel))
        || snapshot.not_utf8.iter().any(|(p, _)| p == rel);
    if needs_model || !super::snapshot::is_inside(rel) {
        return Err(otherwise());
    }
    let limit = crate::files::MAX_FILE_BYTES;
    let (bytes, stat) = crate::files::read_regular_stated(Path::new(&absolute), limit)
        .map_err(|e| format!("`{rel}`: {e}"))?;
    // A file that is no longer UTF-8 needs N006: the loaded check gives it.
    let text: Arc<str> = String::from_utf8(bytes).map_err(|_| otherwise())?.into();
    let sha256 = digest::of_bytes(text.as_bytes());
    let old = &entry.files[file];
    let changed = sha256 != old.sha256;
    let (diagnostics, source) = if changed {
        let source = SourceFile::create(db, rel.clone(), Arc::clone(&text));
        let diagnostics = cache_all(&crate::check::syntax_diagnostics(db, source));
        (diagnostics, Some(source))
    } else {
        (old.diagnostics.clone(), None)
    };
    Ok(Reread {
        file,
        path: i,
        entry: FileEntry {
            path: rel.clone(),
            sha256,
            diagnostics,
        },
        text,
        stat: (!racy(&stat, began)).then_some(stat),
        changed,
        code: source.filter(|_| read_by_model),
    })
}

/// The first question the evaluation asked of a path the snapshot does not hold (a store
/// path, a file outside the clan or one the loader skipped) that is answered otherwise now.
fn first_changed_elsewhere<'e>(
    entry: &'e Entry,
    snapshot: &Snapshot,
    root: &str,
) -> Option<&'e observed::Observed> {
    let held: HashSet<&str> = (snapshot.paths.iter()).map(|(p, _)| p.as_str()).collect();
    let root = root.trim_end_matches('/');
    let elsewhere = (entry.model.observed.iter()).filter(|o| {
        o.answer == IN_STORE || !relative(root, &o.path).is_some_and(|rel| held.contains(rel))
    });
    // Answered from the disk (and clanc's own models), as the workspace would for these.
    let mut db = Database::default();
    let workspace = crate::loader::empty_workspace(&mut db);
    let mut digests = TextDigests::default();
    observed::first_changed_of(elsewhere, &db, root, workspace, &mut digests)
}

/// `path` relative to the directory `root` (`""`: the directory), when it lies inside it.
fn relative<'p>(root: &str, path: &'p str) -> Option<&'p str> {
    if path == root {
        Some("")
    } else {
        path.strip_prefix(root)?.strip_prefix('/')
    }
}

/// The texts of the workspace's files the diagnostics of `files` (the entry's, with those read
/// again) and of the model point into: from `fresh` for a file read again, else read as the
/// loader reads them, an error when one is not what the entry's digest says.
fn read_texts(
    files: &[&FileEntry],
    model: &ModelEntry,
    snapshot: &Snapshot,
    root: &str,
    fresh: &HashMap<&str, &Arc<str>>,
) -> Result<HashMap<String, Arc<str>>, String> {
    let cached = (files.iter().flat_map(|f| &f.diagnostics))
        .chain(&model.diagnostics)
        .chain(&model.notes);
    let mut wanted: BTreeSet<&str> = cached.flat_map(span_files).collect();
    wanted.extend(snapshot.not_utf8.iter().map(|(p, _)| p.as_str()));
    let digests: HashMap<&str, &str> = (files.iter())
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let mut texts = HashMap::new();
    for rel in wanted {
        // A path that is no file of the workspace (a directory, a file outside the clan)
        // has no text in a loaded check either.
        let Some(expected) = digests.get(rel) else {
            continue;
        };
        if let Some(text) = fresh.get(rel) {
            texts.insert(rel.to_string(), Arc::clone(text));
            continue;
        }
        if !super::snapshot::is_inside(rel) {
            return Err("the entry is damaged".into());
        }
        let path = Path::new(root).join(rel);
        let bytes = crate::files::read_regular(&path, crate::files::MAX_FILE_BYTES)
            .map_err(|e| format!("`{rel}`: {e}"))?;
        let text: Arc<str> = match String::from_utf8(bytes) {
            Ok(text) => Arc::from(text),
            Err(e) => Arc::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        };
        if digest::of_bytes(text.as_bytes()) != *expected {
            return Err(format!("`{rel}` changed though it states the same"));
        }
        texts.insert(rel.to_string(), text);
    }
    Ok(texts)
}

/// The files a cached diagnostic's span and labels point into.
fn span_files(d: &CachedDiagnostic) -> impl Iterator<Item = &str> {
    std::iter::once(&d.span)
        .chain(d.labels.iter().map(|(span, _)| span))
        .map(|span| span.0.as_str())
}
