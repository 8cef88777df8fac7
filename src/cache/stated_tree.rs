//! The sops facts of a clan read from disk as `clanc vars` reads them, stating every path
//! they read on the way (each before reading it): the entry's snapshot keeps those states so
//! that a check of an unchanged clan need not read the vars tree again.

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};

use crate::file_stat::FileStat;
use crate::vars::store::{ClanTree, Disk};

/// The sops facts' digest and the state of every path read for them (`None`: absent).
pub struct SopsRead {
    pub digest: String,
    pub paths: Vec<(String, Option<FileStat>)>,
}

/// The sops facts of the clan at `root` for the legacy sops files `legacy`, as they are now.
pub fn read_sops(root: &str, legacy: &[(String, String)]) -> SopsRead {
    let tree = StatedTree {
        disk: Disk(Path::new(root)),
        paths: RefCell::default(),
    };
    let facts = crate::vars::facts::facts_for_legacy_files(&tree, legacy);
    SopsRead {
        digest: super::digest::of_debug("sops facts", &facts),
        paths: tree.paths.into_inner(),
    }
}

/// The disk, with the state of each path asked about.
struct StatedTree<'a> {
    disk: Disk<'a>,
    paths: RefCell<Vec<(String, Option<FileStat>)>>,
}

impl StatedTree<'_> {
    /// States `rel` (links followed) and records it.
    fn state(&self, rel: &str) -> Option<std::fs::Metadata> {
        let meta = std::fs::metadata(self.disk.path(rel)).ok();
        let stat = meta.as_ref().map(FileStat::of);
        self.paths.borrow_mut().push((rel.to_string(), stat));
        meta
    }
}

impl ClanTree for StatedTree<'_> {
    fn entries(&self, rel: &str) -> io::Result<Vec<(String, bool)>> {
        self.state(rel);
        self.disk.entries(rel)
    }

    fn is_file(&self, rel: &str) -> bool {
        self.state(rel).is_some_and(|m| m.is_file())
    }

    fn text(&self, rel: &str) -> io::Result<String> {
        self.state(rel);
        self.disk.text(rel)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.disk.path(rel)
    }
}
