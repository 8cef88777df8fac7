//! Where entries live and how one is read and written: one file per clan directory, named by
//! a hash of the directory's absolute path, in `$XDG_CACHE_HOME/clanc/` (else
//! `$HOME/.cache/clanc/`, else `--cache-dir`). The directory is made private (0700), an
//! entry is private (0600) and replaced atomically (a temporary file in the same directory,
//! then a rename), and its first line holds a digest of the rest: a truncated, corrupt or
//! foreign file reads as no entry. Reading is bounded; nothing here fails loudly (an
//! unreadable or unwritable cache is no cache).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::digest;

/// The most an entry may hold. Measured: the entry of a generated clan of 10,000 machines
/// (10,028 files) is 6.4 MB, vanixiets' (435 files) 225 KB.
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// The most a file beside an entry may take. The largest are a clan's lowered files
/// (`eval::LoweredPack`); measured, clanc's own modules and the code read in the store
/// included: vanixiets' (435 files, 1.6 MB of Nix) 1.4 MB, a generated clan's of 500 machines
/// 0.75 MB, of 10,000 machines 13.7 MB.
pub const MAX_BESIDE_BYTES: u64 = 256 << 20;

/// What an entry's first line starts with; the format's version follows. A change of the
/// entry's layout changes the version (older entries then read as none).
const MAGIC: &str = "clanc-cache";
pub const FORMAT: u32 = 1;

/// A file the cache keeps beside a clan's entry, framed and digested as the entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Beside {
    /// The clan's files as the last check lowered them (`eval::LoweredPack`; the layout is
    /// the binary's own: the body says which binary wrote them).
    Lowered,
    /// What the last check's evaluation did with the code it imported, with that code's
    /// texts (`cache::code_kept`).
    Code,
}

impl Beside {
    fn extension(self) -> &'static str {
        match self {
            Beside::Lowered => "lowered",
            Beside::Code => "code",
        }
    }

    /// What the file's first line starts with.
    fn magic(self) -> &'static str {
        match self {
            Beside::Lowered => "clanc-lowered",
            Beside::Code => "clanc-code",
        }
    }
}

/// A cache directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The cache at `dir` (`--cache-dir`).
    pub fn at(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    /// The cache `clanc check` uses: `dir` when given, else `$XDG_CACHE_HOME/clanc`, else
    /// `$HOME/.cache/clanc` (only absolute paths count, as the XDG specification says);
    /// `None` with neither set.
    pub fn locate(dir: Option<&Path>) -> Option<Store> {
        Store::locate_with(dir, |name| std::env::var_os(name))
    }

    /// [`Store::locate`] with the environment variables `env` gives.
    fn locate_with(
        dir: Option<&Path>,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Option<Store> {
        if let Some(dir) = dir {
            return Some(Store::at(dir));
        }
        let absolute = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
        absolute("XDG_CACHE_HOME")
            .map(|d| d.join("clanc"))
            .or_else(|| absolute("HOME").map(|h| h.join(".cache/clanc")))
            .map(|dir| Store { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry file of the clan whose absolute directory is `root`.
    pub fn entry_path(&self, root: &str) -> PathBuf {
        let name = digest::of_bytes(root.as_bytes());
        self.dir.join(format!("{}.json", &name[..32]))
    }

    /// The file of the clan's `kind`, beside its entry.
    pub fn beside_path(&self, root: &str, kind: Beside) -> PathBuf {
        self.entry_path(root).with_extension(kind.extension())
    }

    /// The body of the clan's entry, when there is one whose digest holds.
    pub fn read(&self, root: &str) -> Option<Vec<u8>> {
        let bytes = crate::files::read_regular(&self.entry_path(root), MAX_ENTRY_BYTES).ok()?;
        unframe(bytes, MAGIC)
    }

    /// Replaces the clan's entry with `body`. Errors are the caller's to ignore.
    pub fn write(&self, root: &str, body: &[u8]) -> std::io::Result<()> {
        self.replace(&self.entry_path(root), MAGIC, body)
    }

    /// The body of the clan's `kind`, when its digest holds.
    pub fn read_beside(&self, root: &str, kind: Beside) -> Option<Vec<u8>> {
        let path = self.beside_path(root, kind);
        let bytes = crate::files::read_regular(&path, MAX_BESIDE_BYTES).ok()?;
        unframe(bytes, kind.magic())
    }

    /// Replaces the clan's `kind` with `body`. Errors are the caller's to ignore.
    pub fn write_beside(&self, root: &str, kind: Beside, body: &[u8]) -> std::io::Result<()> {
        self.replace(&self.beside_path(root, kind), kind.magic(), body)
    }

    /// Replaces the file at `path` in the cache directory, whole, with `body` behind its
    /// header line.
    fn replace(&self, path: &Path, magic: &str, body: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        // A temporary file is created 0600; the rename replaces the file whole.
        let mut file = tempfile::Builder::new()
            .prefix(".entry-")
            .tempfile_in(&self.dir)?;
        file.write_all(header(body, magic).as_bytes())?;
        file.write_all(body)?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The header line a file's `body` follows: `<magic> <format> <sha256 of body>`.
fn header(body: &[u8], magic: &str) -> String {
    format!("{magic} {FORMAT} {}\n", digest::of_bytes(body))
}

/// The body of a framed file of this kind and format whose digest holds (taken out of
/// `bytes` in place).
fn unframe(mut bytes: Vec<u8>, magic: &str) -> Option<Vec<u8>> {
    let end = bytes.iter().position(|b| *b == b'\n')?;
    let header = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut parts = header.split(' ');
    let (kind, format, sum) = (parts.next()?, parts.next()?, parts.next()?);
    if kind != magic || format != FORMAT.to_string() || parts.next().is_some() {
        return None;
    }
    let sum = sum.to_string();
    bytes.drain(..=end);
    (digest::of_bytes(&bytes) == sum).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_and_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(&dir.path().join("nested/clanc"));
        store.write("/a/clan", b"{\"x\":1}").unwrap();
        assert_eq!(store.read("/a/clan").as_deref(), Some(&b"{\"x\":1}"[..]));
        assert_eq!(store.read("/another/clan"), None);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(mode(&store.entry_path("/a/clan")), 0o600);
        // replaced whole, no temporary file left behind
        store.write("/a/clan", b"{}").unwrap();
        assert_eq!(store.read("/a/clan").as_deref(), Some(&b"{}"[..]));
        assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_entry_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        store.write("/c", b"{\"files\":[1,2,3]}").unwrap();
        let path = store.entry_path("/c");
        let good = std::fs::read(&path).unwrap();
        let other_format = String::from_utf8_lossy(&good)
            .replacen(&format!("{MAGIC} {FORMAT} "), "clanc-cache 0 ", 1)
            .into_bytes();
        let flipped: Vec<u8> = (good.iter())
            .map(|b| if *b == b'2' { b'7' } else { *b })
            .collect();
        let damaged: Vec<Vec<u8>> = vec![
            good[..good.len() - 1].to_vec(),
            flipped,
            other_format,
            b"garbage".to_vec(),
            Vec::new(),
            vec![0xff; 100],
        ];
        for bytes in damaged {
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(
                store.read("/c"),
                None,
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
        // a directory or a FIFO in the entry's place is none too, and never blocks
        std::fs::remove_file(&path).unwrap();
        let fifo = std::ffi::CString::new(path.to_string_lossy().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(store.read("/c"), None);
    }

    #[test]
    fn the_location_follows_xdg_then_home() {
        let locate = |dir: Option<&str>, vars: &[(&str, &str)]| {
            let env = |name: &str| {
                (vars.iter().find(|(n, _)| *n == name)).map(|(_, v)| std::ffi::OsString::from(v))
            };
            Store::locate_with(dir.map(Path::new), env).map(|s| s.dir)
        };
        let both = [("XDG_CACHE_HOME", "/x/cache"), ("HOME", "/home/ada")];
        assert_eq!(locate(None, &both), Some(PathBuf::from("/x/cache/clanc")));
        assert_eq!(
            locate(None, &both[1..]),
            Some(PathBuf::from("/home/ada/.cache/clanc"))
        );
        // relative or empty values are not locations
        let relative = [("XDG_CACHE_HOME", "cache"), ("HOME", "")];
        assert_eq!(locate(None, &relative), None);
        assert_eq!(locate(None, &[]), None);
        assert_eq!(locate(Some("/given"), &both), Some(PathBuf::from("/given")));
    }
}
