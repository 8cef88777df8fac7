//! A check answered from the cache when it can be, and stored in it when it cannot: the
//! clan is loaded as always (the report needs the texts and the file count) and each file
//! hashed; when the entry's model part holds, only files whose text changed are checked
//! again (syntax and lowering), and the diagnostics are put together as
//! `analysis::analyse` puts them (syntax diagnostics in file order, N001 of unread files
//! demoted, the model's and the checker's merged once per place, N000 notes); otherwise
//! the whole analysis runs and its parts are stored. An entry is stored only when putting
//! its parts together gives exactly what the analysis reported.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::code_edit::model_after_edits;
use super::code_kept::KeptCode;
use super::digest::Fields;
use super::entry::{Entry, FileEntry, ModelEntry, Summary, cache_all, restore_all};
use super::identity::Identity;
use super::observed::{self, Kind, Observed, TextDigests};
use super::outcome::{ByState, Outcome, Stored};
use super::snapshot::Snapshot;
use super::stated_tree::{SopsRead, read_sops};
use super::store::Store;
use super::unchanged;
use crate::analysis::AnalysisHost;
use crate::db::{Db, SourceFile, Workspace};
use crate::diagnostics::Diagnostic;
use crate::eval::{Garbage, LoweredPack};
use crate::loader::LoadError;
use crate::model::WorkspaceFacts;

/// A checked clan, as the report needs it.
pub struct Checked {
    /// Texts by relative path: every file's, or (answered from an unchanged clan's entry)
    /// those the diagnostics point into.
    pub texts: HashMap<String, Arc<str>>,
    /// How many files the clan has.
    pub files: usize,
    /// In the order `analysis::analyse` gives them, then N006 of files that are not UTF-8.
    pub diagnostics: Vec<Diagnostic>,
    pub summary: Summary,
    /// The evaluation behind a model this run built (none when the entry answered).
    pub garbage: Option<Garbage>,
    pub outcome: Outcome,
}

/// What a check reports: its diagnostics, the model's summary, the evaluation behind a model
/// built by this run.
type Parts = (Vec<Diagnostic>, Summary, Option<Garbage>);

/// An entry without its identity: the files' table and the model's part, with the code its
/// evaluation imported (none when no edit can keep its model).
type EntryParts = (Vec<FileEntry>, ModelEntry, Option<KeptCode>);

/// What an entry that held gives.
struct Hit {
    diagnostics: Vec<Diagnostic>,
    rechecked: usize,
    /// The entry's new table of files, when files changed.
    files: Option<Vec<FileEntry>>,
    /// After edits of code that left the model as it was: the entry's new model part, the
    /// kept code after them, and how many files were edited.
    edited: Option<(ModelEntry, KeptCode, usize)>,
}

/// The loaded clan and what every run computes of it.
struct Run {
    host: AnalysisHost,
    /// The clan directory, absolute, as the analysis is given it.
    root: String,
    files: Vec<SourceFile>,
    /// Each file's digest, in the order of `files`.
    hashes: Vec<String>,
    texts: HashMap<String, Arc<str>>,
    digests: TextDigests,
    /// The state of the paths the load read, when it can be trusted.
    snapshot: Option<Snapshot>,
    /// When the check began (before anything was read).
    began: SystemTime,
    /// The files as the clan's last check lowered them, which the load's database takes.
    lowered_before: Option<Arc<LoweredPack>>,
    /// The files the analysis's evaluation imported as code from outside the clan.
    code_read_elsewhere: Vec<SourceFile>,
}

/// Checks the clan at `dir` (whose absolute, canonical path is `root`), with the cache in
/// `store`. When the entry's snapshot says nothing changed, the check is answered without
/// loading the clan. Else the clan loads, while a second thread reads the sops facts the
/// entry names again: neither needs the other.
pub fn check(
    dir: &Path,
    root: &Path,
    explain_unknown: bool,
    store: &Store,
) -> Result<Checked, LoadError> {
    let began = SystemTime::now();
    let root = root.to_string_lossy().into_owned();
    let identity = Identity::current(explain_unknown);
    let mut entry = identity.as_ref().map(|id| read_entry(store, &root, id));
    // Set when the answer by state asked about edits of code and they need the model: the
    // loaded check then does not read the kept code to ask again.
    let mut edits_need_model = false;
    if let (Some(Ok(entry)), Some(identity)) = (&mut entry, &identity)
        && let Ok(answer) = unchanged::answer(
            entry,
            &root,
            began,
            || KeptCode::read(store, &root, identity, &entry.model),
            &mut edits_need_model,
        )
    {
        return Ok(answered_by_state(entry, answer, store, &root));
    }
    let named = entry.as_ref().and_then(|e| e.as_ref().ok());
    let lowered_before = (identity.as_ref()).and_then(|id| super::lowered::read(store, &root, id));
    let (loaded, sops_now) = std::thread::scope(|scope| {
        let sops = || named.map(|e| read_sops(&root, &e.model.legacy_sops_files));
        let side = std::thread::Builder::new()
            .stack_size(crate::STACK_SIZE)
            .spawn_scoped(scope, sops)
            .ok();
        let loaded = load(dir, began, lowered_before);
        let sops_now = match side {
            Some(side) => side.join().unwrap_or(None),
            None => sops(),
        };
        (loaded, sops_now)
    });
    let mut run = loaded?;
    let prefetched = match (entry, sops_now) {
        (Some(Ok(entry)), Some(sops_now)) => Some(Ok((entry, sops_now))),
        (Some(Err(why)), _) => Some(Err(why)),
        (Some(Ok(_)), None) => Some(Err("reading the sops files failed".into())),
        (None, _) => None,
    };
    run.root = root;
    let checked = match (identity, prefetched) {
        (Some(identity), Some(prefetched)) => {
            run.check(&identity, store, prefetched, edits_need_model)
        }
        _ => {
            let (parts, _) = run.analyse(explain_unknown);
            let why = "the running executable cannot be identified";
            let outcome = Outcome::Miss {
                why: why.into(),
                stored: Stored::NotWritten(why.into()),
                lowered: None,
            };
            run.checked(parts, outcome)
        }
    };
    Ok(checked)
}

/// The check `entry` answers by the state of the clan's paths, the files read again (those
/// that stated otherwise) with their new states and diagnostics written into the entry.
fn answered_by_state(
    entry: &mut Entry,
    answer: unchanged::Unchanged,
    store: &Store,
    root: &str,
) -> Checked {
    let files = entry.files.len();
    let read = answer.reread.len();
    let rechecked = answer.reread.iter().filter(|r| r.changed).count();
    let mut update = false;
    let mut edited = 0;
    let mut kept = None;
    if let Some((model, code, n)) = answer.edited {
        entry.model = model;
        kept = Some(code);
        edited = n;
        update = true;
    }
    for reread in answer.reread {
        if let (Some(stat), Some(snapshot)) = (reread.stat, &mut entry.snapshot) {
            snapshot.paths[reread.path].1 = stat;
            update = true;
        }
        if reread.changed {
            entry.files[reread.file] = reread.entry;
            update = true;
        }
    }
    let stored = if update {
        write(store, root, entry, kept)
    } else {
        Stored::Unchanged
    };
    Checked {
        texts: answer.texts,
        files,
        diagnostics: answer.diagnostics,
        summary: entry.model.summary.clone(),
        garbage: None,
        outcome: Outcome::Hit {
            rechecked,
            files,
            stated: Some(ByState {
                paths: answer.stated,
                read,
            }),
            stored,
            edited,
        },
    }
}

/// The clan at `dir`, loaded, stated and hashed (the root is the caller's to fill in); the
/// check began at `began`.
fn load(
    dir: &Path,
    began: SystemTime,
    lowered_before: Option<Arc<LoweredPack>>,
) -> Result<Run, LoadError> {
    let (host, stated) = AnalysisHost::load_stated(dir, lowered_before.clone())?;
    let snapshot = Snapshot::of(stated, host.not_utf8(), began);
    let db = host.db();
    let files = host.workspace().files(db).clone();
    let mut digests = TextDigests::default();
    let hashes = files.iter().map(|f| digests.of(f.text(db))).collect();
    let texts = host.texts();
    Ok(Run {
        host,
        root: String::new(),
        files,
        hashes,
        texts,
        digests,
        snapshot,
        began,
        lowered_before,
        code_read_elsewhere: Vec::new(),
    })
}

/// The clan's entry when it is this clanc's, of these options; else why there is none.
fn read_entry(store: &Store, root: &str, identity: &Identity) -> Result<Entry, String> {
    let body = store.read(root).ok_or("no entry")?;
    let entry: Entry =
        serde_json::from_slice(&body).map_err(|_| "the entry does not parse".to_string())?;
    if entry.identity != *identity || entry.root != root {
        return Err("the entry is another clanc's, or of other options".into());
    }
    Ok(entry)
}

impl Run {
    /// `edits_need_model`: the answer by state found that the edits of code need the model.
    fn check(
        &mut self,
        identity: &Identity,
        store: &Store,
        prefetched: Result<(Entry, SopsRead), String>,
        edits_need_model: bool,
    ) -> Checked {
        let (why, sops_read) = match prefetched {
            Err(why) => (why, None),
            Ok((mut entry, sops_now)) => match self.answer(&entry, &sops_now.digest, |root| {
                let kept = || KeptCode::read(store, root, identity, &entry.model);
                if edits_need_model { None } else { kept() }
            }) {
                Ok(hit) => {
                    let (mut edited_files, mut kept) = (0, None);
                    if let Some((model, code, edited)) = hit.edited {
                        entry.model = model;
                        (edited_files, kept) = (edited, Some(code));
                    }
                    let snapshot = self.snapshot_with(sops_now, &entry.model);
                    let restated = snapshot.is_some() && entry.snapshot != snapshot;
                    if restated {
                        entry.snapshot = snapshot;
                    }
                    let stored = match hit.files {
                        None if !restated && edited_files == 0 => Stored::Unchanged,
                        None => write(store, &self.root, &entry, kept),
                        Some(files) => {
                            entry.files = files;
                            write(store, &self.root, &entry, kept)
                        }
                    };
                    let outcome = Outcome::Hit {
                        rechecked: hit.rechecked,
                        files: self.files.len(),
                        stated: None,
                        stored,
                        edited: edited_files,
                    };
                    let parts = (hit.diagnostics, entry.model.summary, None);
                    return self.checked(parts, outcome);
                }
                Err(why) => {
                    let legacy = std::mem::take(&mut entry.model.legacy_sops_files);
                    (why, Some((legacy, sops_now)))
                }
            },
        };
        let (parts, entry) = self.analyse(identity.explain_unknown);
        let (db, workspace) = (self.host.db(), self.host.workspace());
        let elsewhere = &self.code_read_elsewhere;
        let before = self.lowered_before.as_deref();
        super::lowered::write(
            store, &self.root, identity, db, workspace, elsewhere, before,
        );
        let stored = match entry {
            Ok((files, model, kept)) => {
                // The sops files read meanwhile were those of the old model's legacy files.
                let sops_now = match sops_read {
                    Some((legacy, read)) if legacy == model.legacy_sops_files => read,
                    _ => read_sops(&self.root, &model.legacy_sops_files),
                };
                let entry = Entry {
                    identity: identity.clone(),
                    root: self.root.clone(),
                    files,
                    snapshot: self.snapshot_with(sops_now, &model),
                    model,
                };
                write(store, &self.root, &entry, kept)
            }
            Err(why) => Stored::NotWritten(why),
        };
        let outcome = Outcome::Miss {
            why,
            stored,
            lowered: self.lowered_before.as_ref().map(|p| p.counts()),
        };
        self.checked(parts, outcome)
    }

    /// The load's snapshot, with the sops files of `read` when they gave `model`'s facts.
    fn snapshot_with(&mut self, read: SopsRead, model: &ModelEntry) -> Option<Snapshot> {
        let mut snapshot = self.snapshot.take()?;
        snapshot.add_sops(read, &model.sops_facts, self.began);
        Some(snapshot)
    }

    /// Each file's digest by relative path.
    fn file_digests(&self) -> HashMap<&str, String> {
        (self.files.iter().zip(&self.hashes))
            .map(|(f, h)| (f.path(self.host.db()).as_str(), h.clone()))
            .collect()
    }

    fn checked(&mut self, (diagnostics, summary, garbage): Parts, outcome: Outcome) -> Checked {
        Checked {
            texts: std::mem::take(&mut self.texts),
            files: self.files.len(),
            diagnostics,
            summary,
            garbage,
            outcome,
        }
    }

    /// The check from `entry`, when its model part holds (`sops_now`: the digest of the sops
    /// facts it names, read now); else why not.
    /// When files the evaluation imported as code changed, the code kept beside the entry
    /// (`kept`, read only then) says whether the edits leave the model as it was.
    fn answer(
        &mut self,
        entry: &Entry,
        sops_now: &str,
        kept: impl FnOnce(&str) -> Option<KeptCode>,
    ) -> Result<Hit, String> {
        let (db, workspace) = (self.host.db(), self.host.workspace());
        let model = &entry.model;
        if facts_digest(db, workspace) != model.workspace_facts {
            return Err("flake.nix or flake.lock changed".into());
        }
        if listing_digest(db, workspace) != model.vars_listing {
            return Err("the vars directories changed".into());
        }
        let changed = observed::all_changed(
            &model.observed,
            db,
            &self.root,
            workspace,
            &mut self.digests,
        );
        let edited = match changed.len() {
            0 => None,
            n => {
                let (after, kept) = model_after_edits(
                    db,
                    &self.root,
                    workspace,
                    kept(&self.root),
                    &changed,
                    model,
                    &mut self.digests,
                )?;
                Some((after, kept, n))
            }
        };
        let model = edited.as_ref().map_or(model, |(after, _, _)| after);
        let now = self.file_digests();
        let moved = (model.span_files.iter()).find(|(p, d)| now.get(p.as_str()) != d.as_ref());
        if let Some((path, _)) = moved {
            return Err(format!(
                "a file the model's diagnostics show changed: {path}"
            ));
        }
        if sops_now != model.sops_facts {
            return Err("the sops files changed".into());
        }
        let damaged = || "the entry is damaged".to_string();
        let stored: HashMap<&str, &FileEntry> =
            (entry.files.iter()).map(|f| (f.path.as_str(), f)).collect();
        let mut per_file = Vec::with_capacity(self.files.len());
        let mut table = Vec::with_capacity(self.files.len());
        let mut rechecked = 0;
        for (file, hash) in self.files.iter().zip(&self.hashes) {
            let path = file.path(db);
            match stored.get(path.as_str()) {
                Some(e) if e.sha256 == *hash => {
                    per_file.push(restore_all(&e.diagnostics, &self.texts).ok_or_else(damaged)?);
                    table.push(FileEntry {
                        path: path.clone(),
                        sha256: hash.clone(),
                        diagnostics: e.diagnostics.clone(),
                    });
                }
                _ => {
                    rechecked += 1;
                    let diagnostics = crate::check::syntax_diagnostics(db, *file);
                    table.push(FileEntry {
                        path: path.clone(),
                        sha256: hash.clone(),
                        diagnostics: cache_all(&diagnostics),
                    });
                    per_file.push(diagnostics);
                }
            }
        }
        let model_diagnostics = restore_all(&model.diagnostics, &self.texts).ok_or_else(damaged)?;
        let notes = restore_all(&model.notes, &self.texts).ok_or_else(damaged)?;
        let mut diagnostics = assemble(
            per_file,
            &unread_rule(&self.root, model.has_flake, &model.observed),
            model_diagnostics,
            notes,
        );
        diagnostics.extend(self.host.not_utf8_diagnostics());
        let same_files = rechecked == 0 && entry.files.len() == self.files.len();
        Ok(Hit {
            diagnostics,
            rechecked,
            files: (!same_files).then_some(table),
            edited,
        })
    }

    /// The whole analysis, and the parts of an entry that give the same answer (or why
    /// there are none).
    fn analyse(&mut self, explain_unknown: bool) -> (Parts, Result<EntryParts, String>) {
        let analysis = self.host.check(explain_unknown);
        let (db, workspace) = (self.host.db(), self.host.workspace());
        let per_file: Vec<Vec<Diagnostic>> = (self.files.iter())
            .map(|f| crate::check::syntax_diagnostics(db, *f))
            .collect();
        let clan = &analysis.clan;
        let model_diagnostics: Vec<Diagnostic> =
            (clan.diagnostics.iter().chain(&analysis.clan_checks))
                .cloned()
                .collect();
        let notes: Vec<Diagnostic> = if explain_unknown {
            crate::analysis::unknown_notes(clan).collect()
        } else {
            Vec::new()
        };
        let inputs = analysis.memo.inputs();
        let kept = KeptCode::of(inputs);
        let observed = observed::record(inputs.observations(), &mut self.digests);
        self.code_read_elsewhere = inputs.code_read_elsewhere().to_vec();
        let facts = WorkspaceFacts::of(db, workspace);
        let files = (self.files.iter().zip(&self.hashes).zip(&per_file))
            .map(|((f, hash), diagnostics)| FileEntry {
                path: f.path(db).clone(),
                sha256: hash.clone(),
                diagnostics: cache_all(diagnostics),
            })
            .collect();
        let span_files = span_files(&[&model_diagnostics, &notes], &self.file_digests());
        let model = ModelEntry {
            span_files,
            workspace_facts: facts_digest(db, workspace),
            has_flake: facts.has_flake,
            vars_listing: listing_digest(db, workspace),
            legacy_sops_files: crate::vars::facts::legacy_sops_files(clan),
            sops_facts: super::digest::of_debug("sops facts", &analysis.sops),
            diagnostics: cache_all(&model_diagnostics),
            notes: cache_all(&notes),
            summary: Summary::of(clan),
            observed,
        };
        let mut replayed = assemble(
            per_file,
            &unread_rule(&self.root, model.has_flake, &model.observed),
            model_diagnostics,
            notes,
        );
        // The host's check ends with N006 of the files that are not UTF-8, as a hit does.
        replayed.extend(self.host.not_utf8_diagnostics());
        let summary = model.summary.clone();
        let entry = if replayed == analysis.diagnostics {
            Ok((files, model, kept))
        } else {
            Err("its parts do not give the analysis's diagnostics".into())
        };
        let parts = (analysis.diagnostics, summary, Some(analysis.garbage));
        (parts, entry)
    }
}

/// The diagnostics of a check from its parts, as `analysis::analyse` puts them together.
pub(super) fn assemble(
    per_file: Vec<Vec<Diagnostic>>,
    unread: &dyn Fn(&str) -> bool,
    model: Vec<Diagnostic>,
    notes: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let mut diagnostics: Vec<Diagnostic> = per_file.into_iter().flatten().collect();
    crate::analysis::demote_unread(&mut diagnostics, unread);
    crate::analysis::merge_model_diagnostics(&mut diagnostics, model);
    diagnostics.extend(notes);
    diagnostics
}

/// The files (relative) `diagnostics` point into, each once, with its digest in `digests`.
fn span_files(
    diagnostics: &[&Vec<Diagnostic>],
    digests: &HashMap<&str, String>,
) -> Vec<(String, Option<String>)> {
    let mut files: Vec<&str> = (diagnostics.iter().flat_map(|d| d.iter()))
        .flat_map(|d| std::iter::once(&d.span).chain(d.labels.iter().map(|l| &l.span)))
        .map(|span| &*span.file)
        .collect();
    files.sort_unstable();
    files.dedup();
    (files.into_iter())
        .map(|f| (f.to_string(), digests.get(f).cloned()))
        .collect()
}

/// Which files (relative) the evaluation never read, as `ModelInputs::unread_file` says: with
/// a flake.nix, those whose absolute path it never asked the text of.
pub(super) fn unread_rule(
    root: &str,
    has_flake: bool,
    observed: &[Observed],
) -> impl Fn(&str) -> bool {
    let read: HashSet<String> = (observed.iter())
        .filter(|o| o.kind == Kind::File)
        .map(|o| o.path.clone())
        .collect();
    let root = root.trim_end_matches('/').to_string();
    move |file: &str| has_flake && !read.contains(&format!("{root}/{file}"))
}

fn facts_digest(db: &dyn Db, workspace: Workspace) -> String {
    let facts = WorkspaceFacts::of(db, workspace);
    let fields = Fields::new("workspace facts").add(&[u8::from(facts.has_flake)]);
    match &facts.lock {
        Some(lock) => fields.add(b"lock").add(lock.as_bytes()),
        None => fields.add(b"no lock"),
    }
    .finish()
}

fn listing_digest(db: &dyn Db, workspace: Workspace) -> String {
    super::digest::of_debug(
        "vars listing",
        &crate::analysis::vars_listing(db, workspace),
    )
}

/// Writes `entry`, then the code `kept` beside it (bound to the entry: written only when the
/// entry was).
fn write(store: &Store, root: &str, entry: &Entry, kept: Option<KeptCode>) -> Stored {
    let stored = match serde_json::to_vec(entry) {
        Ok(body) => match store.write(root, &body) {
            Ok(()) => Stored::Written,
            Err(e) => Stored::NotWritten(e.to_string()),
        },
        Err(e) => Stored::NotWritten(e.to_string()),
    };
    if let (Stored::Written, Some(kept)) = (&stored, kept) {
        kept.write(store, root, &entry.identity, &entry.model);
    }
    stored
}
