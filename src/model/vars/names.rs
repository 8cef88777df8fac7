//! Names are data, not paths: a machine, generator, file or prompt name becomes one directory
//! or file name of the vars tree (`vars/per-machine/<m>/<g>/<f>/`, `sops/machines/<m>/`,
//! `$out/<f>`), so it must be exactly one path component. Every path clanc builds from such a
//! name goes through [`join`], which refuses the names that would leave the directory they are
//! joined to (`..`, anything with `/`) or name it itself (`.`, the empty name), and NUL.
//!
//! clan-core itself does not check generator, file or prompt names (its vars interface types
//! them as plain strings and joins them into paths), so a name refused here also breaks clan's
//! own layout; machine names clan's CLI checks more strictly (`M005`, `check::machines`).

use std::fmt;
use std::path::{Path, PathBuf};

/// A name that cannot be one path component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameError {
    /// What the name names: "machine", "generator", "file", "prompt".
    pub what: &'static str,
    pub name: String,
    pub why: &'static str,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} name {:?} cannot name a file or directory: {}",
            self.what, self.name, self.why
        )
    }
}

impl std::error::Error for NameError {}

impl From<NameError> for std::io::Error {
    fn from(e: NameError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
    }
}

/// Why `name` cannot be a single path component, if it cannot.
pub fn problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("`.` and `..` name a directory and its parent")
    } else if name.contains('/') {
        Some("it contains `/`")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    }
}

/// `name` when it is a single path component.
pub fn component<'n>(what: &'static str, name: &'n str) -> Result<&'n str, NameError> {
    match problem(name) {
        None => Ok(name),
        Some(why) => Err(NameError {
            what,
            name: name.to_string(),
            why,
        }),
    }
}

/// `root/n1/n2/...` for the `(what, name)` pairs, each name checked to be one component: the
/// result is always below `root` (symbolic links aside: see `vars::transaction`).
pub fn join(root: &Path, names: &[(&'static str, &str)]) -> Result<PathBuf, NameError> {
    let mut path = root.to_path_buf();
    for (what, name) in names {
        path.push(component(what, name)?);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_components_join() {
        let root = Path::new("/clan/vars");
        assert_eq!(
            join(root, &[("machine", "web-1"), ("generator", "ssh.key")]).unwrap(),
            Path::new("/clan/vars/web-1/ssh.key")
        );
        for bad in [
            "",
            ".",
            "..",
            "../evil",
            "a/b",
            "/abs",
            "x\0y",
            "../../../x",
        ] {
            let err = join(root, &[("machine", "ok"), ("generator", bad)]).unwrap_err();
            assert_eq!(err.what, "generator");
            assert_eq!(err.name, bad);
            assert!(err.to_string().contains("cannot name a file"), "{err}");
        }
        // dots inside a name are fine: only the whole name `..` climbs
        assert!(component("file", "..hidden").is_ok());
        assert!(component("file", "a..b").is_ok());
        assert!(component("file", ".validation-hash").is_ok());
    }
}
