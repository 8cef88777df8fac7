//! The vars tree and the sops files as the clan was loaded: [`ClanTree`] over the database,
//! for the sops facts the checker reads (keys, recipients), so that an editor's change to
//! `vars/` or `sops/` reaches the check through the host like any other. What the loader did
//! not take is read from disk, as `clanc vars` reads it: a directory a `.gitignore` hides, a
//! sops file too large or not UTF-8, and a legacy sops-nix file a machine names (which files
//! those are depends on the model).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::db::{Db, EntryKind, SourceFile, Workspace, WorkspaceIndex, workspace_index};
use crate::vars::store::{ClanTree, Disk};

pub struct LoadedTree<'a> {
    db: &'a dyn Db,
    disk: Disk<'a>,
    index: &'a WorkspaceIndex,
    sops: HashMap<&'a str, SourceFile>,
}

impl<'a> LoadedTree<'a> {
    pub fn new(db: &'a dyn Db, workspace: Workspace, root: &'a Path) -> LoadedTree<'a> {
        LoadedTree {
            db,
            disk: Disk(root),
            index: workspace_index(db, workspace),
            sops: (workspace.sops(db).iter())
                .map(|f| (f.path(db).as_str(), *f))
                .collect(),
        }
    }

    /// The kind of the entry at `rel` from its directory's listing: `None` when the directory
    /// was not listed, `Some(None)` when the listing has no such entry.
    fn kind(&self, rel: &str) -> Option<Option<EntryKind>> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let entries = self.index.dirs.get(dir)?;
        Some(entries.iter().find(|e| e.name == name).map(|e| e.kind))
    }
}

impl ClanTree for LoadedTree<'_> {
    fn entries(&self, rel: &str) -> io::Result<Vec<(String, bool)>> {
        match self.index.dirs.get(rel) {
            Some(entries) => Ok((entries.iter())
                .map(|e| (e.name.clone(), e.kind == EntryKind::Directory))
                .collect()),
            None => self.disk.entries(rel),
        }
    }

    fn is_file(&self, rel: &str) -> bool {
        match self.kind(rel) {
            Some(Some(EntryKind::Regular)) => true,
            // Absent (a listing is whole), a directory, a FIFO or a device.
            Some(None | Some(EntryKind::Directory | EntryKind::Unknown)) => false,
            // A link (followed on disk), or in a directory the loader did not walk.
            Some(Some(EntryKind::Symlink)) | None => self.disk.is_file(rel),
        }
    }

    fn text(&self, rel: &str) -> io::Result<String> {
        match self.sops.get(rel) {
            Some(file) => Ok(file.text(self.db).to_string()),
            None => self.disk.text(rel),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.disk.path(rel)
    }
}
