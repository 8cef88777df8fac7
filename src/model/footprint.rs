//! What each machine's configuration is made of, for `clanc plan --changed-since`: the code
//! of the clan it depends on, the paths that code names, the files its evaluation read, and
//! why, when it is so, any change at all may change it. Built with the model
//! ([`super::build_model_with_footprints`]) and compared between two states of the clan by
//! [`super::affected`].
//!
//! The footprint follows the code, not only what clanc evaluated: clanc evaluates a machine's
//! modules only as far as the model needs (its imports, vars generators, a few options), so
//! most of a configuration is never forced. What the code *can* reach is read from its text
//! ([`crate::eval::CodeIndex::reach`]): every module the machine's evaluations collected is a
//! piece of code; the bindings it uses outside itself (`let`, `rec`, `with`) are pieces too;
//! the path literals of every piece are paths it may read; and the arguments of the functions
//! around it say what comes from elsewhere: a flake input (changes with `flake.lock`), this
//! flake's own outputs or source (`self`, `inputs.self`, a flake-parts `config`: any change
//! may reach it), or the clan's instance data (compared as data). What cannot be followed
//! makes the footprint unbounded, with the reason: never silently smaller.

use std::collections::BTreeMap;

/// A piece of code a footprint holds: a file of the clan (relative to the clan directory,
/// `../` for files beside it) and the hash of the piece's text, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PieceKey {
    pub file: String,
    pub hash: u64,
}

/// Where a piece is and why it is in the footprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceInfo {
    /// How many distinct places have this text.
    pub count: u32,
    /// The first line (1-based) of the first of them.
    pub line: u32,
    pub what: PieceKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PieceKind {
    /// A whole file: a module imported by path, or a file whose function's arguments the
    /// code uses.
    File,
    /// A module written inline (a function or a set).
    Module,
    /// A definition of the machine, an instance or a clan option.
    Definition,
    /// Code a piece uses from outside itself (a binding, a `with` set, a default).
    Used,
}

impl PieceKind {
    pub fn describe(self) -> &'static str {
        match self {
            PieceKind::File => "a file",
            PieceKind::Module => "a module",
            PieceKind::Definition => "a definition",
            PieceKind::Used => "code",
        }
    }
}

/// A path a footprint depends on: a file or directory of the clan (relative, lexically
/// normal: `machines/web`, `../common`, `""` for the clan directory itself).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathUse {
    pub path: String,
    /// Anything below it counts too (a directory, an interpolated path's fixed start).
    pub below: bool,
    /// Why: "named at modules/web.nix:3", "read by its evaluation", ...
    pub why: String,
}

/// What one machine's configuration (or one instance's, or every machine's) depends on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Footprint {
    pub pieces: BTreeMap<PieceKey, PieceInfo>,
    pub paths: Vec<PathUse>,
    /// Why any change of the clan may change it (the first reason found).
    pub anything: Option<String>,
}

impl Footprint {
    /// Adds a piece of code (once per distinct text and place: the caller dedups places).
    pub fn add_piece(&mut self, file: String, hash: u64, line: u32, what: PieceKind) {
        self.pieces
            .entry(PieceKey { file, hash })
            .and_modify(|info| {
                info.count += 1;
                if line < info.line {
                    info.line = line;
                }
            })
            .or_insert(PieceInfo {
                count: 1,
                line,
                what,
            });
    }

    pub fn add_path(&mut self, path: String, below: bool, why: String) {
        let new = PathUse { path, below, why };
        if !self
            .paths
            .iter()
            .any(|p| p.path == new.path && p.below == new.below)
        {
            self.paths.push(new);
        }
    }

    /// Marks the footprint unbounded (keeps the first reason).
    pub fn unbounded(&mut self, reason: String) {
        self.anything.get_or_insert(reason);
    }
}

/// Whether an instance's service reads the members of its roles (perInstance's `roles`,
/// perMachine's `instances`, or `exports`): then a change of any member's role or settings
/// changes every member's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolesRead {
    /// It does not (its code was read: no such argument is used).
    No,
    /// It does, here ("clanServices/zerotier/default.nix:54").
    Yes(String),
    /// clanc cannot tell; why.
    Maybe(String),
}

/// The footprints of a clan's machines, and what they share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Footprints {
    pub machines: BTreeMap<String, Footprint>,
    /// What every machine depends on: the clan's options clanc does not model (`specialArgs`,
    /// `pkgsForSystem`, ...), `flake.nix`'s `inputs`.
    pub shared: Footprint,
    /// Per instance: its definitions' code (compared when its data is not all known).
    pub instances: BTreeMap<String, Footprint>,
    /// Per instance: whether its service reads the roles' members.
    pub roles_read: BTreeMap<String, RolesRead>,
    /// Per flake service (`clan.modules.<name>`): its code.
    pub services: BTreeMap<String, Footprint>,
}

/// `path` relative to `root` (both absolute, lexically normal), with `..` for paths outside
/// it; `None` for clanc's embedded files and the Nix store (they do not change with the
/// clan's files).
pub fn relative_to_root(root: &str, path: &str) -> Option<String> {
    if crate::modules::known::is_builtin(path) || path.starts_with("/nix/store/") {
        return None;
    }
    if !path.starts_with('/') {
        return None;
    }
    Some(lexical_relative(root, path))
}

/// `path` relative to `root` (both absolute and lexically normal), with `..` for paths
/// outside it.
pub fn lexical_relative(root: &str, path: &str) -> String {
    let root: Vec<&str> = root.split('/').filter(|p| !p.is_empty()).collect();
    let target: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let common = root.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; root.len() - common];
    parts.extend(&target[common..]);
    parts.join("/")
}

/// Whether the clan-relative `path` is `used` or, when `below`, lies under it.
pub fn covers(used: &str, below: bool, path: &str) -> bool {
    if used == path {
        return true;
    }
    if !below {
        return false;
    }
    if used.is_empty() {
        return !path.starts_with("../") && path != "..";
    }
    path.strip_prefix(used)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The 1-based line of a byte offset in a text.
pub fn line_of(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let before = text.as_bytes().get(..end).unwrap_or_default();
    before.iter().filter(|b| **b == b'\n').count() as u32 + 1
}

/// A stable hash of a piece of text (within one run of clanc: both states are hashed alike).
pub fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_clan() {
        assert_eq!(
            relative_to_root("/r/clan", "/r/clan/modules/a.nix").as_deref(),
            Some("modules/a.nix")
        );
        assert_eq!(relative_to_root("/r/clan", "/r/clan").as_deref(), Some(""));
        assert_eq!(
            relative_to_root("/r/clan", "/r/common/x.nix").as_deref(),
            Some("../common/x.nix")
        );
        assert_eq!(relative_to_root("/r/clan", "/nix/store/abc-x/y.nix"), None);
        assert_eq!(relative_to_root("/r/clan", "/clanc-builtin/lib.nix"), None);
        assert!(covers(
            "machines/web",
            true,
            "machines/web/configuration.nix"
        ));
        assert!(!covers(
            "machines/web",
            true,
            "machines/web2/configuration.nix"
        ));
        assert!(!covers("machines/web", false, "machines/web/x"));
        assert!(covers("", true, "README.md"));
        assert!(!covers("", true, "../other/x"));
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a", 99), 1);
    }
}
