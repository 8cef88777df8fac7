//! The one owner of a loaded clan (as rust-analyzer's `AnalysisHost`): the database with the
//! clan's files and directory listings, the files read from disk that are not UTF-8, and the
//! memo of the newest model. It takes changes — an editor's text, what changed on disk — and
//! answers every question the CLI, watch mode and the language server ask: the check, the
//! model, the footprints of `plan --changed-since`. No other place loads or analyses a clan.
//!
//! A [`Snapshot`] is the host's state at one moment, to be analysed on another thread while
//! the host takes newer changes (salsa cancels the older analysis at the next write).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use salsa::Setter as _;

use super::{Analysis, ModelMemo};
use crate::check::VarsListing;
use crate::db::{Database, NotUtf8, SourceFile, Workspace};
use crate::diagnostics::Diagnostic;
use crate::loader::{self, LoadError};
use crate::model::Clan;
use crate::model::footprint::Footprints;

/// A loaded clan and the memo of its newest model.
pub struct AnalysisHost {
    db: Database,
    /// The clan's directory, absolute and canonical (the evaluator works with those).
    root: PathBuf,
    workspace: Workspace,
    /// The workspace's files by clan-relative path.
    files: BTreeMap<String, SourceFile>,
    /// The files last read from disk whose bytes are not UTF-8 (N006).
    not_utf8: Vec<NotUtf8>,
    /// Files an editor holds open (clan-relative): their texts are the editor's, which
    /// [`AnalysisHost::refresh`] leaves alone.
    open: BTreeSet<String>,
    /// The newest model and what it was built from: the next analysis reuses it when the
    /// changes since left all of that as it was.
    memo: Option<ModelMemo>,
}

/// The host's state at one moment, analysable on any thread.
pub struct Snapshot {
    db: Database,
    root: String,
    workspace: Workspace,
    not_utf8: Vec<NotUtf8>,
    memo: Option<ModelMemo>,
}

impl AnalysisHost {
    /// Reads the clan at `dir` from disk (files are parsed when an analysis asks for them).
    pub fn load(dir: &Path) -> Result<AnalysisHost, LoadError> {
        AnalysisHost::load_lowering_from(dir, None)
    }

    /// [`AnalysisHost::load`], files taken from `lowered_before` when it holds their text
    /// (the on-disk cache's, see [`crate::db::Db::lowered_before`]).
    pub fn load_lowering_from(
        dir: &Path,
        lowered_before: Option<Arc<crate::eval::LoweredPack>>,
    ) -> Result<AnalysisHost, LoadError> {
        let (db, loaded) = load_beside_builtins(dir, false, lowered_before)?;
        Ok(AnalysisHost::new(
            db,
            dir,
            loaded.workspace,
            loaded.not_utf8,
        ))
    }

    /// [`AnalysisHost::load`], with the state of every path the loader read, stated before
    /// it was read (the on-disk cache keeps it to know the clan unchanged without reading it),
    /// and files taken from `lowered_before` when it holds their text (the on-disk cache's,
    /// see [`crate::db::Db::lowered_before`]).
    pub fn load_stated(
        dir: &Path,
        lowered_before: Option<Arc<crate::eval::LoweredPack>>,
    ) -> Result<(AnalysisHost, loader::Stated), LoadError> {
        let (db, loaded) = load_beside_builtins(dir, true, lowered_before)?;
        let host = AnalysisHost::new(db, dir, loaded.workspace, loaded.not_utf8);
        Ok((host, loaded.stated))
    }

    /// A host of the clan at `dir` with nothing read yet (a clan the loader refuses, until
    /// [`AnalysisHost::refresh`] can read it).
    pub fn unloaded(dir: &Path) -> AnalysisHost {
        let mut db = Database::default();
        let workspace = loader::empty_workspace(&mut db);
        AnalysisHost::new(db, dir, workspace, Vec::new())
    }

    fn new(db: Database, dir: &Path, workspace: Workspace, not_utf8: Vec<NotUtf8>) -> Self {
        let mut host = AnalysisHost {
            db,
            root: loader::absolute(dir),
            workspace,
            files: BTreeMap::new(),
            not_utf8,
            open: BTreeSet::new(),
            memo: None,
        };
        host.index_files();
        host
    }

    fn index_files(&mut self) {
        self.files = (self.workspace.files(&self.db).iter())
            .map(|f| (f.path(&self.db).clone(), *f))
            .collect();
    }

    /// The clan's directory, absolute.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The database, for a caller done with the host (its memo is dropped).
    pub fn into_db(self) -> Database {
        self.db
    }

    pub fn workspace(&self) -> Workspace {
        self.workspace
    }

    /// The text of the file at `rel` (clan-relative), if the workspace holds it.
    pub fn text(&self, rel: &str) -> Option<Arc<str>> {
        Some(Arc::clone(self.files.get(rel)?.text(&self.db)))
    }

    /// Every file's text by clan-relative path.
    pub fn texts(&self) -> HashMap<String, Arc<str>> {
        (self.files.iter())
            .map(|(rel, f)| (rel.clone(), Arc::clone(f.text(&self.db))))
            .collect()
    }

    /// The files last read from disk that are not UTF-8.
    pub fn not_utf8(&self) -> &[NotUtf8] {
        &self.not_utf8
    }

    /// N006 for each file read from disk that is not UTF-8 (and not open in an editor), as
    /// [`Snapshot::check`] ends with them.
    pub fn not_utf8_diagnostics(&self) -> Vec<Diagnostic> {
        self.snapshot().not_utf8_diagnostics()
    }

    /// What exists under `vars/`, from the loaded listings.
    pub fn vars_listing(&self) -> VarsListing {
        super::vars_listing(&self.db, self.workspace)
    }

    /// Marks the file at `rel` as open in an editor (`true`) or closed: an open file's text is
    /// the editor's (set with [`AnalysisHost::set_text`]), never the disk's, and it is not
    /// reported as not UTF-8 (the editor's text is UTF-8 by the protocol).
    pub fn set_open(&mut self, rel: &str, open: bool) {
        if open {
            self.open.insert(rel.to_string());
        } else {
            self.open.remove(rel);
        }
    }

    /// Sets the text of the file at `rel`, or with `None` removes the file; returns whether
    /// anything changed.
    pub fn set_text(&mut self, rel: &str, text: Option<Arc<str>>) -> bool {
        match (self.files.get(rel).copied(), text) {
            (Some(file), Some(text)) => {
                if *file.text(&self.db) == text {
                    return false;
                }
                file.replace_text(&mut self.db, text);
            }
            (None, Some(text)) => {
                let file = SourceFile::create(&self.db, rel.to_string(), text);
                self.files.insert(rel.to_string(), file);
                self.update_file_list();
            }
            (Some(_), None) => {
                self.files.remove(rel);
                self.update_file_list();
            }
            (None, None) => return false,
        }
        true
    }

    fn update_file_list(&mut self) {
        let files: Vec<SourceFile> = self.files.values().copied().collect();
        self.workspace.set_files(&mut self.db).to(files);
    }

    /// Takes what changed on disk since the clan was read, except the texts of open files (an
    /// editor's: they stay, even when gone from disk). Returns whether anything changed, the
    /// list of files that are not UTF-8 included.
    pub fn refresh(&mut self) -> Result<bool, LoadError> {
        let open = &self.open;
        let refreshed =
            loader::refresh_with(&mut self.db, &self.root, self.workspace, &|rel: &str| {
                open.contains(rel)
            })?;
        let changed = refreshed.changed || refreshed.not_utf8 != self.not_utf8;
        self.not_utf8 = refreshed.not_utf8;
        if refreshed.changed {
            self.index_files();
        }
        Ok(changed)
    }

    /// The host's state now, for an analysis on another thread. A write to the host (a
    /// change) waits until every snapshot is dropped, cancelling analyses in flight.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            db: self.db.clone(),
            root: self.root.to_string_lossy().into_owned(),
            workspace: self.workspace,
            not_utf8: (self.not_utf8.iter())
                .filter(|f| !self.open.contains(&f.path))
                .cloned()
                .collect(),
            memo: self.memo.clone(),
        }
    }

    /// Keeps the memo of an analysis of a snapshot for the next one.
    pub fn remember(&mut self, memo: ModelMemo) -> Option<ModelMemo> {
        self.memo.replace(memo)
    }

    /// The whole check of the clan as it is now (reusing the newest model where nothing it
    /// was built from changed), remembered for the next.
    pub fn check(&mut self, explain_unknown: bool) -> Analysis {
        let analysis = self.snapshot().check(explain_unknown);
        self.memo = Some(analysis.memo.clone());
        analysis
    }

    /// The check, with what each machine's configuration is made of (`plan --changed-since`;
    /// the model is built afresh).
    pub fn check_with_footprints(&self) -> (Analysis, Footprints) {
        let snapshot = self.snapshot();
        let (mut analysis, footprints) =
            super::lowering_alongside(&snapshot.db, snapshot.workspace, || {
                super::analyse_with_footprints(&snapshot.db, &snapshot.root, snapshot.workspace)
            });
        snapshot.add_not_utf8(&mut analysis);
        (analysis, footprints)
    }

    /// The model alone (no checks), built afresh: only the files its evaluation reads are
    /// parsed.
    pub fn model(&self) -> Clan {
        crate::model::build_model(&self.db, &self.root.to_string_lossy(), self.workspace)
    }
}

/// Reads the clan at `dir` into a new database while another thread parses and lowers
/// clanc's embedded modules (nixpkgs' lib, flake-parts, clan-core's modules): every
/// evaluation reads them first, and they do not depend on the clan.
fn load_beside_builtins(
    dir: &Path,
    state: bool,
    lowered_before: Option<Arc<crate::eval::LoweredPack>>,
) -> Result<(Database, loader::Loaded), LoadError> {
    let mut db = Database::lowering_from(lowered_before);
    let builtins = crate::modules::known::inputs(&db);
    let lowering = db.clone();
    let loaded = super::lowering_files_alongside(lowering, builtins.clone(), || {
        loader::load_clan_beside(&mut db, dir, state, builtins)
    })?;
    Ok((db, loaded))
}

impl Snapshot {
    /// The whole check of the clan as it was when the snapshot was taken: syntax, the model,
    /// the checker's rules, and N006 for the files that are not UTF-8.
    pub fn check(&self, explain_unknown: bool) -> Analysis {
        let analyse = || {
            super::analyse_reusing(
                &self.db,
                &self.root,
                self.workspace,
                explain_unknown,
                self.memo.as_ref(),
            )
        };
        // The first check parses every file; a later one finds nearly all of them memoised.
        let mut analysis = match self.memo {
            None => super::lowering_alongside(&self.db, self.workspace, analyse),
            Some(_) => analyse(),
        };
        self.add_not_utf8(&mut analysis);
        analysis
    }

    fn add_not_utf8(&self, analysis: &mut Analysis) {
        analysis.diagnostics.extend(self.not_utf8_diagnostics());
    }

    fn not_utf8_diagnostics(&self) -> Vec<Diagnostic> {
        if self.not_utf8.is_empty() {
            return Vec::new();
        }
        let files: HashMap<&str, SourceFile> = (self.workspace.files(&self.db).iter())
            .map(|f| (f.path(&self.db).as_str(), *f))
            .collect();
        (self.not_utf8.iter())
            .map(|file| {
                let text = files.get(file.path.as_str()).map(|f| f.text(&self.db));
                crate::check::not_utf8_diagnostic(file, text.map_or("", |t| t.as_ref()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ModelReuse;
    use crate::diagnostics::Code;

    /// A copy of a small fixture clan in a temp dir, with `extra` files written into it.
    fn clan(extra: &[(&str, &[u8])]) -> tempfile::TempDir {
        fixture_copy("fixtures/shapes/plain-lib-clan", extra)
    }

    fn fixture_copy(fixture: &str, extra: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
        copy_dir(&fixture, dir.path());
        for (rel, bytes) in extra {
            std::fs::write(dir.path().join(rel), bytes).expect("write");
        }
        dir
    }

    fn copy_dir(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).expect("fixture") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            let kind = entry.file_type().expect("type");
            if kind.is_symlink() {
                let link = std::fs::read_link(entry.path()).expect("link");
                std::os::unix::fs::symlink(link, &target).expect("symlink");
            } else if kind.is_dir() {
                std::fs::create_dir_all(&target).expect("mkdir");
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy");
            }
        }
    }

    fn codes(analysis: &Analysis) -> Vec<Code> {
        analysis.diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn a_second_check_reuses_the_model_until_a_text_it_read_changes() {
        let dir = clan(&[("notes.nix", b"{ }")]);
        let mut host = AnalysisHost::load(dir.path()).expect("loads");
        let first = host.check(false);
        assert_eq!(first.model_reused, ModelReuse::Built);
        assert!(!first.clan.machines.is_empty(), "{:?}", codes(&first));

        // A file the evaluation never reads: the model is the same.
        assert!(host.set_text("notes.nix", Some(Arc::from("{ a = 1; }"))));
        assert_eq!(host.check(false).model_reused, ModelReuse::Same);

        // Setting the text a file already has changes nothing.
        assert!(!host.set_text("notes.nix", Some(Arc::from("{ a = 1; }"))));

        // A machine renamed in flake.nix: built again, with the new name.
        let flake = host.text("flake.nix").expect("flake.nix");
        let renamed = flake.replacen("ash = {", "oak = {", 1);
        assert_ne!(*flake, *renamed);
        assert!(host.set_text("flake.nix", Some(Arc::from(renamed))));
        let third = host.check(false);
        assert_eq!(third.model_reused, ModelReuse::Built);
        assert!(third.clan.machines.contains_key("oak"));
    }

    #[test]
    fn files_not_utf8_are_reported_unless_an_editor_holds_them() {
        let dir = clan(&[("scratch.nix", b"{ a = \"\xff\"; }")]);
        let mut host = AnalysisHost::load(dir.path()).expect("loads");
        assert!(codes(&host.check(false)).contains(&Code::N006));

        // Open in an editor: its text is the editor's (UTF-8), not reported.
        host.set_open("scratch.nix", true);
        host.set_text("scratch.nix", Some(Arc::from("{ a = \"x\"; }")));
        assert!(!codes(&host.check(false)).contains(&Code::N006));

        // Closed again, back to the disk's bytes: reported again; saved as UTF-8: not.
        host.set_open("scratch.nix", false);
        assert!(host.refresh().expect("refresh"));
        assert!(codes(&host.check(false)).contains(&Code::N006));
        std::fs::write(dir.path().join("scratch.nix"), "{ a = \"y\"; }").expect("write");
        assert!(host.refresh().expect("refresh"));
        assert!(!codes(&host.check(false)).contains(&Code::N006));
        assert_eq!(host.text("scratch.nix").as_deref(), Some("{ a = \"y\"; }"));
    }

    #[test]
    fn a_refresh_takes_the_disk_except_open_documents() {
        let dir = clan(&[("a.nix", b"{ }"), ("b.nix", b"{ }")]);
        let mut host = AnalysisHost::load(dir.path()).expect("loads");
        host.set_open("a.nix", true);
        host.set_text("a.nix", Some(Arc::from("{ editor = true; }")));
        std::fs::write(dir.path().join("a.nix"), "{ disk = true; }").expect("write");
        std::fs::write(dir.path().join("b.nix"), "{ disk = true; }").expect("write");
        std::fs::write(dir.path().join("c.nix"), "{ new = true; }").expect("write");
        assert!(host.refresh().expect("refresh"));
        assert_eq!(host.text("a.nix").as_deref(), Some("{ editor = true; }"));
        assert_eq!(host.text("b.nix").as_deref(), Some("{ disk = true; }"));
        assert_eq!(host.text("c.nix").as_deref(), Some("{ new = true; }"));
        assert!(!host.refresh().expect("refresh"), "nothing changed since");
        // Removed from the workspace (a never-saved document closed).
        assert!(host.set_text("c.nix", None));
        assert_eq!(host.text("c.nix"), None);
    }

    #[test]
    fn a_snapshot_checks_on_another_thread_and_its_memo_serves_the_host() {
        let dir = clan(&[]);
        let mut host = AnalysisHost::load(dir.path()).expect("loads");
        let snapshot = host.snapshot();
        // The evaluation stays on its thread (its values are not `Send`); the memo comes back.
        let (reuse, memo) = std::thread::Builder::new()
            .stack_size(crate::STACK_SIZE)
            .spawn(move || {
                let analysis = snapshot.check(false);
                (analysis.model_reused, analysis.memo)
            })
            .expect("thread")
            .join()
            .expect("checked");
        assert_eq!(reuse, ModelReuse::Built);
        assert!(host.remember(memo).is_none());
        assert_eq!(host.check(false).model_reused, ModelReuse::Same);
    }

    /// The sops files are inputs: a user's key changed on disk reaches the check through
    /// `refresh`, as the seed fleet's secrets then are not encrypted for that key (V005).
    #[test]
    fn a_sops_key_changed_on_disk_reaches_the_check() {
        let dir = fixture_copy("fixtures/seed-fleet", &[]);
        let mut host = AnalysisHost::load(dir.path()).expect("loads");
        let not_for_crs58 = |a: &Analysis| {
            (a.diagnostics.iter())
                .filter(|d| d.code == Code::V005 && d.message.contains("user `crs58`"))
                .count()
        };
        assert_eq!(not_for_crs58(&host.check(false)), 0);
        let (db, workspace) = (host.db(), host.workspace());
        assert!(
            (workspace.sops(db).iter()).any(|f| f.path(db) == "sops/users/crs58/key.json"),
            "the key is an input"
        );

        let other = age::x25519::Identity::generate().to_public().to_string();
        let key = format!("{{\"publickey\": \"{other}\", \"type\": \"age\"}}\n");
        std::fs::write(dir.path().join("sops/users/crs58/key.json"), key).expect("write");
        // Until the host takes the change, the check answers from the clan as loaded (a check
        // reading the disk would see the new key already).
        assert_eq!(not_for_crs58(&host.check(false)), 0);
        assert!(host.refresh().expect("refresh"));
        assert!(not_for_crs58(&host.check(false)) > 0);

        // And back: the same check as at first.
        let original = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/seed-fleet/sops/users/crs58/key.json");
        std::fs::copy(original, dir.path().join("sops/users/crs58/key.json")).expect("copy");
        assert!(host.refresh().expect("refresh"));
        assert_eq!(not_for_crs58(&host.check(false)), 0);
    }
}
