//! The salsa database: inputs are the clan's files (path and text) and directory listings;
//! derived data (parse trees, later evaluation and checks) are tracked queries over them.
//! The database never does I/O: `loader` reads the disk and sets the inputs.

use std::sync::Arc;

use crate::syntax::{self, Parse};

/// One file of the clan. `path` is relative to the clan directory, with `/` separators.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: Arc<str>,
    /// The last parse of this file, of whichever text: the next text is parsed from it
    /// ([`syntax::reparse`]). Never set after the file is created, only filled in by
    /// [`parse`] and, once the file has been edited, by [`crate::eval::lower_file`], whose
    /// results it does not change (a hint, not an input that matters).
    #[default]
    #[returns(ref)]
    pub last_parse: LastParse,
}

/// A file's last parse, shared by every revision of the database (see
/// [`SourceFile::last_parse`]).
#[derive(Clone, Default)]
pub struct LastParse(Arc<std::sync::Mutex<Hint>>);

#[derive(Default)]
struct Hint {
    parse: Option<Parse>,
    /// Whether the file's text was ever replaced (an editor's buffer, a file changed on
    /// disk): then lowering keeps its parse for the next edit. A file never edited (every
    /// file of a one-off check) keeps none.
    edited: bool,
}

impl LastParse {
    /// The text parsed, from the last parse when there is one; kept as the next one's
    /// hint when `keep`. A poisoned lock only loses the hint.
    fn parse(&self, text: &str, keep: impl Fn(&Hint) -> bool) -> Parse {
        let earlier = self.0.lock().ok().and_then(|h| h.parse.clone());
        let parse = match earlier {
            Some(earlier) => syntax::reparse(&earlier, text),
            None => syntax::parse(text),
        };
        if let Ok(mut hint) = self.0.lock()
            && keep(&hint)
        {
            hint.parse = Some(parse.clone());
        }
        parse
    }
}

impl std::fmt::Debug for LastParse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LastParse")
    }
}

impl PartialEq for LastParse {
    fn eq(&self, other: &LastParse) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LastParse {}

/// How often a file's text changes, for salsa's durability tiers: `flake.lock` (and clanc's
/// embedded modules) rarely, so what depends only on them is not re-validated after an edit
/// elsewhere; every other file of the clan may change with each keystroke.
pub fn durability_of(path: &str) -> salsa::Durability {
    if path == "flake.lock" || path.ends_with("/flake.lock") {
        salsa::Durability::HIGH
    } else {
        salsa::Durability::LOW
    }
}

impl SourceFile {
    /// A new file input with the durability its path calls for (`durability_of`).
    pub fn create(db: &dyn Db, path: String, text: Arc<str>) -> SourceFile {
        let durability = durability_of(&path);
        SourceFile::builder(path, text)
            .durability(durability)
            .new(db)
    }

    /// Replaces the text of a file, keeping its durability tier.
    pub fn replace_text(self, db: &mut dyn Db, text: Arc<str>) {
        use salsa::Setter as _;
        if let Ok(mut hint) = self.last_parse(db).0.lock() {
            hint.edited = true;
        }
        let durability = durability_of(self.path(db));
        self.set_text(db).with_durability(durability).to(text);
    }
}

/// What kind of thing a directory entry is, as `builtins.readDir` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    Regular,
    Directory,
    Symlink,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
}

/// The entries of one directory of the clan, sorted by name. `path` is relative ("" for the
/// clan directory itself).
#[salsa::input(debug)]
pub struct DirListing {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub entries: Vec<DirEntry>,
}

/// The clan as loaded: every file and directory listing, sorted by path.
#[salsa::input(debug)]
pub struct Workspace {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
    #[returns(ref)]
    pub dirs: Vec<DirListing>,
    /// clanc's embedded Nix models (`modules/known`), as inputs of this database, so that
    /// they are parsed and lowered once per database, not once per check.
    #[returns(ref)]
    pub builtins: Vec<SourceFile>,
    /// The sops files the checker reads for what they say in plain text (age keys in
    /// `sops/{users,machines}/*/key.json`, the recipients of each `vars/**/secret`; never
    /// decrypted), sorted by path. Not the clan's code: not parsed, counted or fingerprinted.
    #[returns(ref)]
    pub sops: Vec<SourceFile>,
}

#[salsa::db]
pub trait Db: salsa::Database {
    /// Files lowered by an earlier run of this clanc (an on-disk cache's), which
    /// [`crate::eval::lower_file`] takes instead of parsing and lowering a text again. Not
    /// an input: a file found there is what lowering its text gives.
    fn lowered_before(&self) -> Option<&crate::eval::LoweredPack>;

    /// The IR of the file at `path` with `text`, lowered with `stack_budget` when this clanc
    /// was built (its own modules, see [`crate::modules::known::lowered`]): taken as a file
    /// of [`Db::lowered_before`] is, after them.
    fn lowered_ahead(
        &self,
        path: &str,
        text: &str,
        stack_budget: usize,
    ) -> Option<crate::eval::Lowered>;
}

#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
    lowered_before: Option<Arc<crate::eval::LoweredPack>>,
}

impl Database {
    /// A database whose files are taken from `pack` when it holds their text (see
    /// [`Db::lowered_before`]).
    pub fn lowering_from(pack: Option<Arc<crate::eval::LoweredPack>>) -> Database {
        Database {
            lowered_before: pack,
            ..Database::default()
        }
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn lowered_before(&self) -> Option<&crate::eval::LoweredPack> {
        self.lowered_before.as_deref()
    }

    fn lowered_ahead(
        &self,
        path: &str,
        text: &str,
        stack_budget: usize,
    ) -> Option<crate::eval::Lowered> {
        crate::modules::known::lowered::find(path, text, stack_budget)
    }
}

/// The syntax tree and syntax errors of a file, for what reads the tree (the model's
/// positions in a few files, the language server's features). Stores the green tree, which
/// is `Send` and comparable, so an edit that reparses to the same tree does not invalidate
/// what follows. Evaluation does not ask for it: [`crate::eval::lower_file`] parses the
/// text itself and keeps no tree.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn Db, file: SourceFile) -> Parse {
    file.last_parse(db).parse(file.text(db), |_| true)
}

/// The parse [`crate::eval::lower_file`] lowers: from the last parse when there is one, and
/// kept for the next edit only once the file has been edited.
pub fn parse_for_lowering(db: &dyn Db, file: SourceFile) -> Parse {
    file.last_parse(db).parse(file.text(db), |hint| hint.edited)
}

/// The clan's files and directory listings by path relative to the clan directory. Depends
/// only on which files there are and what the directories hold (not on texts), so an edit
/// of a text reuses it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WorkspaceIndex {
    pub files: std::collections::HashMap<String, SourceFile>,
    pub dirs: std::collections::HashMap<String, Vec<DirEntry>>,
}

#[salsa::tracked(returns(ref))]
pub fn workspace_index(db: &dyn Db, workspace: Workspace) -> Arc<WorkspaceIndex> {
    Arc::new(WorkspaceIndex {
        files: workspace
            .files(db)
            .iter()
            .map(|f| (f.path(db).clone(), *f))
            .collect(),
        dirs: workspace
            .dirs(db)
            .iter()
            .map(|d| (d.path(db).clone(), d.entries(db).clone()))
            .collect(),
    })
}

/// Whether a file of the workspace is Nix source (as opposed to `flake.lock`, JSON, ...).
pub fn is_nix(path: &str) -> bool {
    path.ends_with(".nix")
}

/// A file whose bytes are not UTF-8: loaded with replacement characters, reported by callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotUtf8 {
    pub path: String,
    /// Offset of the first invalid byte, in the original bytes.
    pub offset: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use salsa::Setter;

    #[test]
    fn parse_follows_edits_to_the_text() {
        let mut db = Database::default();
        let file = SourceFile::new(&db, "a.nix".to_string(), Arc::from("{ a = 1; }"));
        assert!(parse(&db, file).errors.is_empty());
        file.set_text(&mut db).to(Arc::from("{ a = 1 }"));
        assert!(!parse(&db, file).errors.is_empty());
        file.set_text(&mut db).to(Arc::from("{ a = 2; }"));
        assert!(parse(&db, file).errors.is_empty());
        // from the last parse (a literal changed): the same tree as parsing from scratch
        file.set_text(&mut db).to(Arc::from("{ a = 345; } # ok"));
        assert_eq!(*parse(&db, file), syntax::parse("{ a = 345; } # ok"));
        file.set_text(&mut db).to(Arc::from("{ a = 6; } # fine"));
        assert_eq!(*parse(&db, file), syntax::parse("{ a = 6; } # fine"));
    }
}
