//! A check answered from an entry without loading the clan: when every path the loader read
//! states as it did when the entry was written (`snapshot`), loading would give the same
//! workspace, so every file's syntax diagnostics and every answer the evaluation got from the
//! workspace are the entry's. What the evaluation read elsewhere (files outside the clan or
//! ignored in it, store paths) is asked again as on every hit, and the sops facts are
//! compared by the caller. Only the files the diagnostics point into are read, for their
//! snippets, each checked against its digest.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::digest;
use super::entry::{CachedDiagnostic, Entry, restore_all};
use super::observed::{self, IN_STORE, TextDigests};
use super::run::{assemble, unread_rule};
use super::snapshot::Snapshot;
use super::stated_tree::read_sops;
use crate::db::Database;
use crate::diagnostics::Diagnostic;

/// The check an unchanged clan gets from its entry.
pub struct Unchanged {
    pub diagnostics: Vec<Diagnostic>,
    /// The texts of the files the diagnostics point into, by relative path.
    pub texts: HashMap<String, Arc<str>>,
    /// How many paths were stated.
    pub stated: usize,
}

/// The check of the clan at `root` (absolute, as the entry was written for) from `entry`,
/// when nothing it depends on changed; else why not.
pub fn answer(entry: &Entry, root: &str) -> Result<Unchanged, String> {
    let snapshot = (entry.snapshot.as_ref()).ok_or("the entry keeps no state of the clan")?;
    if let Some(path) = snapshot.first_changed(Path::new(root)) {
        return Err(format!("`{path}` states otherwise"));
    }
    if let Some(o) = first_changed_elsewhere(entry, snapshot, root) {
        return Err(format!("what the evaluation read changed: {}", o.path));
    }
    let model = &entry.model;
    if snapshot.sops.is_none()
        && read_sops(root, &model.legacy_sops_files).digest != model.sops_facts
    {
        return Err("the sops files changed".into());
    }
    let texts = read_texts(entry, snapshot, root)?;
    let damaged = || "the entry is damaged".to_string();
    let per_file = (entry.files.iter())
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
    diagnostics.extend(snapshot.not_utf8().map(|file| {
        let text = texts.get(&file.path).map_or("", |t| t.as_ref());
        crate::check::not_utf8_diagnostic(&file, text)
    }));
    Ok(Unchanged {
        diagnostics,
        texts,
        stated: snapshot.paths.len() + snapshot.sops.as_ref().map_or(0, Vec::len),
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

/// The texts of the workspace's files the entry's diagnostics point into, read as the loader
/// reads them; an error when one is not what the entry's digest says.
fn read_texts(
    entry: &Entry,
    snapshot: &Snapshot,
    root: &str,
) -> Result<HashMap<String, Arc<str>>, String> {
    let cached = (entry.files.iter().flat_map(|f| &f.diagnostics))
        .chain(&entry.model.diagnostics)
        .chain(&entry.model.notes);
    let mut wanted: BTreeSet<&str> = cached.flat_map(span_files).collect();
    wanted.extend(snapshot.not_utf8.iter().map(|(p, _)| p.as_str()));
    let digests: HashMap<&str, &str> = (entry.files.iter())
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let mut texts = HashMap::new();
    for rel in wanted {
        // A path that is no file of the workspace (a directory, a file outside the clan)
        // has no text in a loaded check either.
        let Some(expected) = digests.get(rel) else {
            continue;
        };
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
