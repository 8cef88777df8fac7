//! Writing the vars tree as a transaction. A generation holds an exclusive lock on the clan's
//! vars tree (`vars/.clanc.lock`, `flock`ed: a second `clanc vars generate` waits, and says
//! so), writes everything into a staging directory inside `vars/` (the same filesystem), and
//! then puts each *unit* in place with one rename: a generator's directory with all its files,
//! a machine's `sops/secrets/<m>-age.key/`, a machine's `sops/machines/<m>/`. An existing
//! directory is swapped with its new version atomically (`renameat2(RENAME_EXCHANGE)` on
//! Linux), so a reader, or a run killed at any instant, sees one unit wholly old or wholly
//! new. When putting a unit in place fails, the units already in place are swapped back and
//! the directories created for them removed: the tree is as it was.
//!
//! A unit starts as a copy of what its directory holds (entries the generation does not
//! replace, such as clan's `.validation-hash`, are kept). Paths are checked to stay inside
//! the clan: names go through `model::vars::names`, and a directory on the way that is a symbolic
//! link leading out of the clan is refused.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The lock file, in `vars/`.
pub const LOCK_FILE: &str = ".clanc.lock";
/// Staging directories in `vars/` start with this; a run killed midway leaves one, the next
/// run (holding the lock) removes it.
pub const STAGING_PREFIX: &str = ".clanc-staging-";

/// The exclusive lock on a clan's vars tree, released (and its file removed) when dropped.
pub struct VarsLock {
    file: Option<File>,
    path: PathBuf,
    vars: PathBuf,
    /// `vars/` did not exist before: removed again if it is still empty.
    created_vars: bool,
}

impl VarsLock {
    /// Takes the lock of the clan at `clan`, waiting (once told through `waiting`) while
    /// another process holds it. A signal that sets `cancel` ends the wait with
    /// `ErrorKind::Interrupted`.
    pub fn acquire(
        clan: &Path,
        cancel: &AtomicBool,
        waiting: &mut dyn FnMut(&str),
    ) -> io::Result<VarsLock> {
        let vars = clan.join("vars");
        let path = vars.join(LOCK_FILE);
        let mut created_vars = false;
        let mut told = false;
        loop {
            match std::fs::create_dir(&vars) {
                Ok(()) => created_vars = true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            ensure_inside(clan, &vars)?;
            let file = match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
            {
                Ok(file) => file,
                // `vars/` was removed by the holder that created it: start again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if !flock(&file, libc::LOCK_EX | libc::LOCK_NB)? {
                if !told {
                    waiting(&format!(
                        "waiting for another clanc to finish with the vars of this clan (it holds `{}`)",
                        path.display()
                    ));
                    told = true;
                }
                loop {
                    if cancel.load(Ordering::SeqCst) {
                        return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
                    }
                    // Blocks; a caught signal (installed without SA_RESTART) ends it with
                    // EINTR, and the loop looks at `cancel` again.
                    match flock(&file, libc::LOCK_EX) {
                        Ok(true) => break,
                        Ok(false) => continue,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
            // The holder before us removes the file when it is done: the lock is ours only
            // if the path still names the file we locked.
            let ours = file.metadata()?;
            match std::fs::symlink_metadata(&path) {
                Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {
                    return Ok(VarsLock {
                        file: Some(file),
                        path,
                        vars,
                        created_vars,
                    });
                }
                _ => continue,
            }
        }
    }

    /// `vars/` of the locked clan.
    pub fn vars_dir(&self) -> &Path {
        &self.vars
    }
}

impl Drop for VarsLock {
    fn drop(&mut self) {
        // Remove the file while it is still locked, then unlock by closing it: a waiter
        // that gets the old file sees it is gone and takes a new one.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
        if self.created_vars {
            let _ = std::fs::remove_dir(&self.vars);
        }
    }
}

/// `flock(2)`: `Ok(false)` when a non-blocking request finds the lock held.
fn flock(file: &File, operation: libc::c_int) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this `File` owns.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(false);
    }
    Err(error)
}

/// Refuses `path` when its deepest existing ancestor (itself included) resolves outside
/// `clan`: a symbolic link in the tree must not carry a write out of the clan.
pub fn ensure_inside(clan: &Path, path: &Path) -> io::Result<()> {
    let root = clan.canonicalize()?;
    let mut existing = path;
    loop {
        match std::fs::symlink_metadata(existing) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => match existing.parent() {
                Some(parent) => existing = parent,
                None => break,
            },
            Err(e) => return Err(e),
        }
    }
    let resolved = existing.canonicalize()?;
    if resolved.starts_with(&root) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` leads out of the clan (to `{}`): clanc does not write there",
                existing.display(),
                resolved.display()
            ),
        ))
    }
}

/// A directory to be put in place.
struct Unit {
    target: PathBuf,
    staged: PathBuf,
}

/// What putting units in place did, to undo it.
enum Done {
    /// `target` was created by renaming `staged` to it.
    New { target: PathBuf, staged: PathBuf },
    /// `target` and `staged` were swapped: the old directory is at `staged`.
    Exchanged { target: PathBuf, staged: PathBuf },
    /// Without an atomic swap: the old directory moved to `old`, then `staged` to `target`.
    Moved {
        target: PathBuf,
        staged: PathBuf,
        old: PathBuf,
    },
    /// A parent directory created for a unit.
    Dir(PathBuf),
}

/// A generation's writes, staged in `vars/.clanc-staging-*` under the lock.
pub struct Transaction<'l> {
    clan: PathBuf,
    staging: Option<tempfile::TempDir>,
    units: Vec<Unit>,
    _lock: &'l VarsLock,
}

impl<'l> Transaction<'l> {
    /// Starts a transaction in the clan at `clan` whose vars tree `lock` holds. Staging
    /// directories that killed runs left behind are removed first.
    pub fn begin(clan: &Path, lock: &'l VarsLock) -> io::Result<Transaction<'l>> {
        let vars = lock.vars_dir();
        for entry in std::fs::read_dir(vars)? {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(STAGING_PREFIX)
                && entry.file_type()?.is_dir()
            {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(vars)?;
        Ok(Transaction {
            clan: clan.to_path_buf(),
            staging: Some(staging),
            units: Vec::new(),
            _lock: lock,
        })
    }

    /// A new directory that replaces `target` (a path inside the clan) when the transaction
    /// is installed. It starts with a copy of what `target` holds now, except the entries
    /// named in `replaced`; the caller fills in the rest.
    pub fn stage(&mut self, target: PathBuf, replaced: &BTreeSet<String>) -> io::Result<PathBuf> {
        if !target.starts_with(&self.clan) || self.units.iter().any(|u| u.target == target) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`{}` cannot be staged twice or outside the clan",
                    target.display()
                ),
            ));
        }
        ensure_inside(&self.clan, &target)?;
        // Something else than a directory in the target's place is refused when the unit is
        // put in place (and everything before it undone), not here.
        let current = match std::fs::symlink_metadata(&target) {
            Ok(meta) => meta.is_dir(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let staged = self.staging_dir()?.join(self.units.len().to_string());
        std::fs::create_dir(&staged)?;
        if current {
            for entry in std::fs::read_dir(&target)? {
                let entry = entry?;
                let name = entry.file_name();
                if replaced.contains(name.to_string_lossy().as_ref()) {
                    continue;
                }
                copy_entry(&entry.path(), &staged.join(&name))?;
            }
        }
        self.units.push(Unit {
            target,
            staged: staged.clone(),
        });
        Ok(staged)
    }

    fn staging_dir(&self) -> io::Result<&Path> {
        self.staging
            .as_ref()
            .map(|s| s.path())
            .ok_or_else(|| io::Error::other("the transaction is over"))
    }

    /// Puts every staged unit in place, in the order staged. On failure, what was put in
    /// place is undone and the error returned; if undoing fails too, the staging directory
    /// (which then holds the old directories) is kept and named in the error.
    pub fn install(mut self) -> io::Result<()> {
        let mut done = Vec::new();
        let units = std::mem::take(&mut self.units);
        for unit in &units {
            if let Err(error) = self.install_one(unit, &mut done) {
                if let Err(undo) = undo_all(done) {
                    let kept = self.staging.take().map(|s| s.keep());
                    return Err(io::Error::other(format!(
                        "{error}; undoing the writes before it failed too ({undo}): the previous files are in `{}`",
                        kept.unwrap_or_default().display()
                    )));
                }
                return Err(error);
            }
        }
        Ok(())
    }

    fn install_one(&self, unit: &Unit, done: &mut Vec<Done>) -> io::Result<()> {
        let parent = unit
            .target
            .parent()
            .ok_or_else(|| io::Error::other("a unit without a parent directory"))?;
        ensure_inside(&self.clan, parent)?;
        let mut missing = Vec::new();
        let mut dir = parent;
        while !exists(dir)? {
            missing.push(dir.to_path_buf());
            match dir.parent() {
                Some(up) => dir = up,
                None => break,
            }
        }
        for dir in missing.into_iter().rev() {
            std::fs::create_dir(&dir)?;
            done.push(Done::Dir(dir));
        }
        let (target, staged) = (unit.target.clone(), unit.staged.clone());
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::rename(&staged, &target)?;
                done.push(Done::New { target, staged });
            }
            Ok(meta) if meta.is_dir() => match exchange(&staged, &target) {
                Ok(()) => done.push(Done::Exchanged { target, staged }),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) || unsupported(&e) => {
                    let old = staged.with_extension("old");
                    std::fs::rename(&target, &old)?;
                    if let Err(e) = std::fs::rename(&staged, &target) {
                        std::fs::rename(&old, &target)?;
                        return Err(e);
                    }
                    done.push(Done::Moved {
                        target,
                        staged,
                        old,
                    });
                }
                Err(e) => return Err(e),
            },
            Ok(_) => return Err(not_a_directory(&target)),
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

fn undo_all(done: Vec<Done>) -> io::Result<()> {
    let mut first_error = None;
    for step in done.into_iter().rev() {
        let result = match step {
            Done::New { target, staged } => std::fs::rename(&target, &staged),
            Done::Exchanged { target, staged } => exchange(&staged, &target),
            Done::Moved {
                target,
                staged,
                old,
            } => std::fs::rename(&target, &staged).and_then(|()| std::fs::rename(&old, &target)),
            Done::Dir(dir) => std::fs::remove_dir(&dir),
        };
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn exists(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn not_a_directory(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "`{}` is not a directory: clanc does not replace it",
            path.display()
        ),
    )
}

fn unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported || e.raw_os_error() == Some(libc::ENOSYS)
}

/// Swaps two existing paths atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths that outlive the call.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Copies a file, a symbolic link (as a link) or a directory (recursively).
fn copy_entry(from: &Path, to: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else if kind.is_dir() {
        std::fs::create_dir(to)?;
        std::fs::set_permissions(to, meta.permissions())?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_entry(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else if kind.is_file() {
        std::fs::copy(from, to).map(|_| ())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is neither a file, a directory nor a link: clanc does not copy it",
                from.display()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                let kind = entry.file_type().unwrap();
                if kind.is_symlink() {
                    out.push((
                        rel,
                        format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                    ));
                } else if kind.is_dir() {
                    out.push((rel, "dir".into()));
                    stack.push(path);
                } else {
                    out.push((rel, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn units_replace_directories_keep_other_entries_and_leave_nothing_behind() {
        let clan = tempfile::tempdir().unwrap();
        let gen_dir = clan.path().join("vars/per-machine/m/g");
        std::fs::create_dir_all(gen_dir.join("a")).unwrap();
        std::fs::write(gen_dir.join("a/value"), "old").unwrap();
        std::fs::write(gen_dir.join(".validation-hash"), "h").unwrap();
        let never = AtomicBool::new(false);
        let lock = VarsLock::acquire(clan.path(), &never, &mut |_| {}).unwrap();
        assert!(clan.path().join("vars/.clanc.lock").is_file());
        let mut txn = Transaction::begin(clan.path(), &lock).unwrap();
        let staged = txn
            .stage(gen_dir.clone(), &BTreeSet::from(["a".to_string()]))
            .unwrap();
        std::fs::create_dir(staged.join("a")).unwrap();
        std::fs::write(staged.join("a/value"), "new").unwrap();
        let fresh = clan.path().join("sops/machines/m");
        let staged = txn.stage(fresh.clone(), &BTreeSet::new()).unwrap();
        std::fs::write(staged.join("key.json"), "{}").unwrap();
        txn.install().unwrap();
        drop(lock);
        assert_eq!(
            std::fs::read_to_string(gen_dir.join("a/value")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(gen_dir.join(".validation-hash")).unwrap(),
            "h"
        );
        assert!(fresh.join("key.json").is_file());
        // no lock file, no staging directory
        let vars: Vec<_> = std::fs::read_dir(clan.path().join("vars"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(vars, ["per-machine"]);
    }

    #[test]
    fn a_unit_failing_midway_puts_every_earlier_unit_back() {
        let clan = tempfile::tempdir().unwrap();
        let vars = clan.path().join("vars/per-machine/m");
        std::fs::create_dir_all(vars.join("one/f")).unwrap();
        std::fs::write(vars.join("one/f/value"), "old one").unwrap();
        // where the third unit goes lies a file: putting it in place fails
        std::fs::write(vars.join("three"), "in the way").unwrap();
        let before = tree(clan.path());
        let never = AtomicBool::new(false);
        let lock = VarsLock::acquire(clan.path(), &never, &mut |_| {}).unwrap();
        let mut txn = Transaction::begin(clan.path(), &lock).unwrap();
        let one = txn
            .stage(vars.join("one"), &BTreeSet::from(["f".into()]))
            .unwrap();
        std::fs::create_dir(one.join("f")).unwrap();
        std::fs::write(one.join("f/value"), "new one").unwrap();
        let two = txn
            .stage(clan.path().join("sops/secrets/m-age.key"), &BTreeSet::new())
            .unwrap();
        std::fs::write(two.join("secret"), "key").unwrap();
        let three = txn.stage(vars.join("three"), &BTreeSet::new()).unwrap();
        std::fs::write(three.join("x"), "x").unwrap();
        let err = txn.install().unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
        drop(lock);
        assert_eq!(tree(clan.path()), before);
    }

    #[test]
    fn symbolic_links_out_of_the_clan_are_refused() {
        let clan = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(clan.path().join("vars/per-machine")).unwrap();
        std::os::unix::fs::symlink(outside.path(), clan.path().join("vars/per-machine/m")).unwrap();
        let never = AtomicBool::new(false);
        let lock = VarsLock::acquire(clan.path(), &never, &mut |_| {}).unwrap();
        let mut txn = Transaction::begin(clan.path(), &lock).unwrap();
        let err = txn
            .stage(clan.path().join("vars/per-machine/m/g"), &BTreeSet::new())
            .unwrap_err();
        assert!(err.to_string().contains("leads out of the clan"), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let clan = tempfile::tempdir().unwrap();
        let never = AtomicBool::new(false);
        let first = VarsLock::acquire(clan.path(), &never, &mut |_| {}).unwrap();
        let released = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let mut told = Vec::new();
                let second =
                    VarsLock::acquire(clan.path(), &never, &mut |m| told.push(m.to_string()))
                        .unwrap();
                assert!(
                    released.load(Ordering::SeqCst),
                    "got the lock while it was held"
                );
                drop(second);
                told
            });
            std::thread::sleep(std::time::Duration::from_millis(300));
            released.store(true, Ordering::SeqCst);
            drop(first);
            let told = waiter.join().unwrap();
            assert_eq!(told.len(), 1);
            assert!(told[0].contains("waiting for another clanc"), "{told:?}");
        });
        // both released: no lock file, and `vars/` (created for the lock) is gone
        assert!(!clan.path().join("vars").exists());
    }
}
