//! What the file system says of a path without reading it (device, inode, size, modification
//! and change times), as git's index keeps it: when a file or directory states the same as
//! when it was read, it holds what it held then. The change time (`ctime`) is set by the
//! kernel on every write, rename or change of metadata and cannot be set back by a user, so a
//! file rewritten with its old size and modification time still states differently. The one
//! gap is a change within the file system's timestamp resolution after the read; whoever keeps
//! a state judges that from the change time against a clock (`cache::snapshot`).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A path's state: device, inode, size in bytes, modification and change times (nanoseconds
/// since the epoch). Written as a five-number array in the cache's entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileStat(pub u64, pub u64, pub u64, pub i64, pub i64);

impl FileStat {
    /// A state no path has (its size is the largest there is): kept for a path whose state
    /// cannot be trusted, so that it states otherwise and is read again.
    pub const UNTRUSTED: FileStat = FileStat(0, 0, u64::MAX, i64::MIN, i64::MIN);

    pub fn of(meta: &Metadata) -> FileStat {
        let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
        FileStat(
            meta.dev(),
            meta.ino(),
            meta.size(),
            ns(meta.mtime(), meta.mtime_nsec()),
            ns(meta.ctime(), meta.ctime_nsec()),
        )
    }

    /// The state of the path now, links followed; `None` when it cannot be stated.
    pub fn now(path: &Path) -> Option<FileStat> {
        std::fs::metadata(path).ok().map(|m| FileStat::of(&m))
    }

    /// The change time, in nanoseconds since the epoch.
    pub fn changed_ns(&self) -> i64 {
        self.4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_with_the_same_size_and_modification_time_states_differently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.nix");
        std::fs::write(&path, "{ a = 1; }").unwrap();
        let before = FileStat::now(&path).unwrap();
        assert_eq!(FileStat::now(&path), Some(before));
        assert_eq!(before.2, 10);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "{ a = 2; }").unwrap();
        let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(before.3 as u64);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let after = FileStat::now(&path).unwrap();
        assert_eq!(
            (after.2, after.3),
            (before.2, before.3),
            "same size and mtime"
        );
        assert_ne!(after, before, "the change time moved");
        assert_eq!(FileStat::now(&dir.path().join("gone")), None);
    }
}
