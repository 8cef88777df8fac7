//! The state of a clan's tree when its entry was written: every directory the loader walked,
//! every `.gitignore` it followed and every file it read, each as stated before it was read
//! (`loader::Stated`). When every one states the same again, loading the clan would give the
//! same workspace, so a check can answer from the entry without reading the clan (as git
//! trusts its index for files whose state is unchanged).
//!
//! The one change a state cannot show is a write within the file system's timestamp
//! resolution after the state was taken: the change time would read the same. So a path a load
//! read less than [`RACY_NS`] after it changed is kept with a state no path has
//! ([`FileStat::UNTRUSTED`], git's "racily clean" entries): the next check reads it again, and
//! takes its state then. This trusts the file system's times to come from the clock this
//! process reads, as on a local disk.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::stated_tree::SopsRead;
use crate::db::NotUtf8;
use crate::file_stat::FileStat;
use crate::loader::Stated;

/// How close before a load a path may have changed and still be trusted by its state: more
/// than the coarsest timestamps of the file systems clans live on (2 s on FAT, a clock tick
/// on the rest).
pub const RACY_NS: i64 = 2_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every path the loader read, relative to the clan directory (`""`: the directory),
    /// with its state.
    pub paths: Vec<(String, FileStat)>,
    /// The files read that are not UTF-8, with the offset of the first bad byte.
    pub not_utf8: Vec<(String, usize)>,
    /// The paths the sops facts were read from on disk besides those (`None`: absent), when
    /// they gave the facts the model was checked with; without them the facts are read
    /// again.
    #[serde(default)]
    pub sops: Option<Vec<(String, Option<FileStat>)>>,
}

impl Snapshot {
    /// The snapshot of a load that began at `began`, which stated `stated` and found the
    /// files `not_utf8`, a path changed too close before the load to be trusted kept as
    /// untrusted; `None` when some path could not be stated.
    pub fn of(stated: Stated, not_utf8: &[NotUtf8], began: SystemTime) -> Option<Snapshot> {
        if !stated.complete {
            return None;
        }
        let mut paths = stated.paths;
        for (_, stat) in &mut paths {
            if racy(stat, began) {
                *stat = FileStat::UNTRUSTED;
            }
        }
        Some(Snapshot {
            paths,
            not_utf8: (not_utf8.iter())
                .map(|f| (f.path.clone(), f.offset))
                .collect(),
            sops: None,
        })
    }

    /// Keeps the paths of `read` (the sops facts read from disk since `began`) when its
    /// facts are those the model was checked with (`digest`) and none is too fresh to trust;
    /// a path the load stated the same is not kept twice.
    pub fn add_sops(&mut self, read: SopsRead, digest: &str, began: SystemTime) {
        let fresh = |stat: &Option<FileStat>| stat.as_ref().is_some_and(|s| racy(s, began));
        if read.digest != digest || read.paths.iter().any(|(_, stat)| fresh(stat)) {
            self.sops = None;
            return;
        }
        let loaded: HashMap<&str, &FileStat> =
            (self.paths.iter()).map(|(p, s)| (p.as_str(), s)).collect();
        let mut paths: Vec<(String, Option<FileStat>)> = (read.paths.into_iter())
            .filter(|(p, stat)| stat.as_ref() != loaded.get(p.as_str()).copied())
            .collect();
        paths.sort();
        paths.dedup();
        self.sops = Some(paths);
    }

    /// The paths that state differently now in the clan at `root`: the indices of the
    /// loader's, and the first of the sops facts' (those are read again as a whole).
    pub fn changed(&self, root: &Path) -> (Vec<usize>, Option<&str>) {
        // A path that does not stay inside the clan (a damaged entry) states as nothing.
        let now = |rel: &str| {
            if rel.is_empty() {
                FileStat::now(root)
            } else if is_inside(rel) {
                FileStat::now(&root.join(rel))
            } else {
                None
            }
        };
        let loaded = (self.paths.iter().enumerate())
            .filter(|(_, (rel, stat))| now(rel) != Some(*stat))
            .map(|(i, _)| i)
            .collect();
        let sops = (self.sops.iter().flatten())
            .find(|(rel, stat)| now(rel) != *stat)
            .map(|(rel, _)| rel.as_str());
        (loaded, sops)
    }

    pub fn not_utf8(&self) -> impl Iterator<Item = NotUtf8> + '_ {
        (self.not_utf8.iter()).map(|(path, offset)| NotUtf8 {
            path: path.clone(),
            offset: *offset,
        })
    }
}

/// Whether the relative path `rel` names a path inside the directory it is relative to: not
/// absolute, no empty, `.` or `..` component.
pub fn is_inside(rel: &str) -> bool {
    !rel.is_empty()
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Whether `stat` changed too close before `began` (or after it) to be trusted.
pub fn racy(stat: &FileStat, began: SystemTime) -> bool {
    let began_ns = (began.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok());
    began_ns.is_none_or(|b| stat.changed_ns() >= b.saturating_sub(RACY_NS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stated(dir: &Path, rels: &[&str]) -> Stated {
        Stated {
            paths: (rels.iter())
                .map(|rel| (rel.to_string(), FileStat::now(&dir.join(rel)).unwrap()))
                .collect(),
            complete: true,
        }
    }

    #[test]
    fn a_path_changed_just_before_the_load_is_read_again_and_a_change_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.nix"), "{ }").unwrap();
        let now = SystemTime::now();
        let fresh = stated(dir.path(), &["", "a.nix"]);
        let untrusted = Snapshot::of(fresh, &[], now).expect("a snapshot");
        assert_eq!(
            untrusted.paths,
            vec![
                (String::new(), FileStat::UNTRUSTED),
                ("a.nix".to_string(), FileStat::UNTRUSTED)
            ],
            "changed just now"
        );
        assert_eq!(
            untrusted.changed(dir.path()),
            (vec![0, 1], None),
            "read again"
        );

        // as if the load had begun three seconds from now: the paths are old enough
        let later = now + Duration::from_secs(3);
        let snapshot = Snapshot::of(stated(dir.path(), &["", "a.nix"]), &[], later).unwrap();
        assert_eq!(snapshot.changed(dir.path()), (vec![], None));
        let incomplete = Stated {
            complete: false,
            ..stated(dir.path(), &["a.nix"])
        };
        assert_eq!(Snapshot::of(incomplete, &[], later), None);

        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("a.nix"), "{ }").unwrap();
        assert_eq!(snapshot.changed(dir.path()), (vec![1], None), "rewritten");
        std::fs::remove_file(dir.path().join("a.nix")).unwrap();
        assert_eq!(
            snapshot.changed(dir.path()),
            (vec![0, 1], None),
            "the listing changed, the file is gone"
        );
    }

    #[test]
    fn only_paths_inside_the_clan_are_stated() {
        for rel in ["a.nix", "vars/per-machine/m/g/f/secret", ".gitignore"] {
            assert!(is_inside(rel), "{rel}");
        }
        for rel in [
            "",
            "/etc/passwd",
            "../x.nix",
            "a/../../b",
            "a//b",
            "./a",
            "a/",
        ] {
            assert!(!is_inside(rel), "{rel}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let stat = FileStat::now(dir.path()).unwrap();
        let outside = Snapshot {
            paths: vec![("..".to_string(), stat)],
            not_utf8: Vec::new(),
            sops: None,
        };
        assert_eq!(outside.changed(&dir.path().join("sub")), (vec![0], None));
    }
}
