//! `flake.lock` (versions 5 to 7): the flake's inputs, what each is locked to, and `follows`
//! resolved the way Nix resolves them (an input path from the root flake).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Where Nix keeps a locked source: `/nix/store/<hash>-source`, the path of a fixed-output,
/// recursive sha256 store object named `source` with the lock's `narHash` (Nix's
/// `makeFixedOutputPath`). It exists once any nix command has fetched the input.
pub fn store_path_of(nar_hash: &str) -> Option<String> {
    use base64::Engine;
    use sha2::Digest;
    let digest = nar_hash.strip_prefix("sha256-")?;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(digest)
        .ok()?;
    if digest.len() != 32 {
        return None;
    }
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let fingerprint = format!("source:sha256:{hex}:/nix/store:source");
    let hash = sha2::Sha256::digest(fingerprint.as_bytes());
    // Nix folds the 32 bytes into 20 by xor.
    let mut folded = [0u8; 20];
    for (i, byte) in hash.iter().enumerate() {
        folded[i % 20] ^= byte;
    }
    let name = crate::eval::builtins::nix_base32(&folded);
    Some(format!("/nix/store/{name}-source"))
}

/// A parsed lock file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlakeLock {
    root: String,
    nodes: BTreeMap<String, LockNode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LockNode {
    #[serde(default)]
    pub inputs: BTreeMap<String, InputRef>,
    #[serde(default)]
    pub locked: Option<Locked>,
    /// `false` for `flake = false` inputs (plain sources).
    #[serde(default = "yes")]
    pub flake: bool,
}

fn yes() -> bool {
    true
}

/// An input of a node: another node, or a `follows` path from the root flake.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum InputRef {
    Node(String),
    Follows(Vec<String>),
}

/// What an input is locked to. Only the fields clanc reports are kept.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Locked {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub rev: Option<String>,
    #[serde(default)]
    pub nar_hash: Option<String>,
    #[serde(default)]
    pub last_modified: Option<i64>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Deserialize)]
struct RawLock {
    nodes: BTreeMap<String, LockNode>,
    root: String,
    version: u32,
}

/// Why a lock file could not be read, with the 1-based position where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for LockError {}

impl FlakeLock {
    pub fn parse(text: &str) -> Result<FlakeLock, LockError> {
        let raw: RawLock = serde_json::from_str(text).map_err(|e| LockError {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        let whole_file = |message: String| LockError {
            message,
            line: 1,
            column: 1,
        };
        if !(5..=7).contains(&raw.version) {
            return Err(whole_file(format!(
                "lock file version {} is not supported (5 to 7 are)",
                raw.version
            )));
        }
        if !raw.nodes.contains_key(&raw.root) {
            return Err(whole_file(format!(
                "the root node `{}` is missing",
                raw.root
            )));
        }
        Ok(FlakeLock {
            root: raw.root,
            nodes: raw.nodes,
        })
    }

    /// The names of the root flake's inputs, sorted.
    pub fn root_inputs(&self) -> Vec<&str> {
        self.nodes
            .get(&self.root)
            .map(|n| n.inputs.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The node an input path from the root leads to (`["clan-core", "nixpkgs"]`), following
    /// `follows`; `None` for a dangling path or a cycle.
    pub fn resolve(&self, path: &[&str]) -> Option<&LockNode> {
        let name = self.resolve_name(path, 0)?;
        self.nodes.get(name)
    }

    fn resolve_name(&self, path: &[&str], depth: usize) -> Option<&str> {
        // Each `follows` restarts from the root; a chain longer than the node count is a cycle.
        if depth > self.nodes.len() {
            return None;
        }
        let mut current = self.root.as_str();
        for step in path {
            let node = self.nodes.get(current)?;
            current = match node.inputs.get(*step)? {
                InputRef::Node(name) => name.as_str(),
                InputRef::Follows(target) => {
                    let target: Vec<&str> = target.iter().map(String::as_str).collect();
                    self.resolve_name(&target, depth + 1)?
                }
            };
        }
        Some(current)
    }

    /// What the root input clan-core is locked to: the input recognised as clan-core by its
    /// name or locked source (`clan`, `clan-core`, a tarball of git.clan.lol), the one named
    /// `clan-core` first.
    pub fn clan_core(&self) -> Option<&Locked> {
        let mut inputs = self.root_inputs();
        inputs.sort_by_key(|name| *name != "clan-core");
        inputs.into_iter().find_map(|name| {
            let locked = self.resolve(&[name])?.locked.as_ref()?;
            let source = format!(
                "{} {}/{}",
                locked.url.as_deref().unwrap_or_default(),
                locked.owner.as_deref().unwrap_or_default(),
                locked.repo.as_deref().unwrap_or_default()
            );
            (super::flake::InputKind::recognise(name, &source) == super::flake::InputKind::ClanCore)
                .then_some(locked)
        })
    }

    /// The locked revision of a root input, if it has one.
    #[cfg(test)]
    pub fn rev_of(&self, input: &str) -> Option<&str> {
        self.resolve(&[input])?.locked.as_ref()?.rev.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
      "nodes": {
        "clan-core": {
          "inputs": { "nixpkgs": ["nixpkgs"], "disko": "disko" },
          "locked": { "type": "github", "owner": "clan", "repo": "clan-core", "rev": "d7c35d9127af", "narHash": "sha256-x", "lastModified": 1 }
        },
        "disko": { "inputs": { "nixpkgs": ["clan-core", "nixpkgs"] }, "locked": { "type": "github", "rev": "aaa" } },
        "nixpkgs": { "locked": { "type": "github", "rev": "bbb" } },
        "src": { "flake": false, "locked": { "type": "path" } },
        "loop": { "inputs": { "self": ["loop"] } },
        "root": { "inputs": { "clan-core": "clan-core", "nixpkgs": "nixpkgs", "src": "src", "loop": ["loop", "self"] } }
      },
      "root": "root",
      "version": 7
    }"#;

    #[test]
    fn follows_are_resolved_from_the_root() {
        let lock = FlakeLock::parse(LOCK).unwrap();
        assert_eq!(lock.root_inputs(), ["clan-core", "loop", "nixpkgs", "src"]);
        assert_eq!(lock.rev_of("clan-core"), Some("d7c35d9127af"));
        let nixpkgs = lock.resolve(&["nixpkgs"]);
        assert_eq!(lock.resolve(&["clan-core", "nixpkgs"]), nixpkgs);
        assert_eq!(lock.resolve(&["clan-core", "disko", "nixpkgs"]), nixpkgs);
        assert!(!lock.resolve(&["src"]).unwrap().flake);
        assert_eq!(lock.resolve(&["nope"]), None);
        assert_eq!(
            lock.resolve(&["loop"]),
            None,
            "a follows cycle resolves to nothing"
        );
    }

    #[test]
    fn bad_lock_files_are_errors_with_positions() {
        let err = FlakeLock::parse("{\n  \"nodes\": 3 }").unwrap_err();
        assert_eq!((err.line, err.column), (2, 12));
        let err = FlakeLock::parse(r#"{"nodes": {}, "root": "root", "version": 7}"#).unwrap_err();
        assert!(err.message.contains("root node"));
        let err = FlakeLock::parse(r#"{"nodes": {"root": {}}, "root": "root", "version": 4}"#)
            .unwrap_err();
        assert!(err.message.contains("version 4"));
    }

    #[test]
    fn store_paths_are_nixs() {
        // `nix-store --print-fixed-path --recursive sha256 <hash> source` (Nix 2.8) for the
        // clan-core the seed fleet pins.
        assert_eq!(
            store_path_of("sha256-o8v2oMrb/p6gfbqYWjTJq5MspQRXYcr46Ud6g36MzBE=").as_deref(),
            Some("/nix/store/xl77sfbyhwml6jdaapx1zyyzakzjv8fx-source")
        );
        assert_eq!(store_path_of("sha256-short"), None);
        assert_eq!(store_path_of("sha512-x"), None);
    }

    #[test]
    fn the_seed_fleet_lock_pins_clan_core() {
        let text = include_str!("../../fixtures/seed-fleet/flake.lock");
        let lock = FlakeLock::parse(text).unwrap();
        assert!(lock.root_inputs().contains(&"import-tree"));
        assert_eq!(
            lock.rev_of("clan-core"),
            Some("d7c35d9127af3f773b57d8e792818597a9aaa29c")
        );
        assert_eq!(
            lock.resolve(&["clan-core", "nixpkgs"]),
            lock.resolve(&["nixpkgs"])
        );
    }
}
