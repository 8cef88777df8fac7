//! The vars tree as it lies in a clan (`vars/per-machine/<m>/<gen>/<file>/`,
//! `vars/shared/<gen>/<file>/`): which files exist, public (`value`) or secret (`secret` with
//! recipient links `machines/<m>`, `users/<u>`, `groups/<g>`). Also `sops/{users,machines}/*`.
//! Recipient links are read by name; a plain file in their place (as some copies of a clan
//! hold them) counts the same.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VarsTree {
    /// machine -> generator -> file
    pub per_machine: BTreeMap<String, BTreeMap<String, Generator>>,
    /// generator -> file
    pub shared: BTreeMap<String, Generator>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generator {
    pub files: BTreeMap<String, StoredFile>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// The file's directory, `.../<gen>/<file>`.
    pub dir: PathBuf,
    pub kind: StoredKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredKind {
    Public,
    Secret(Recipients),
    /// A directory with neither `value` nor `secret`.
    Empty,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    pub machines: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

impl StoredFile {
    /// The path of the content: `value` or `secret`.
    pub fn content_path(&self) -> Option<PathBuf> {
        match self.kind {
            StoredKind::Public => Some(self.dir.join("value")),
            StoredKind::Secret(_) => Some(self.dir.join("secret")),
            StoredKind::Empty => None,
        }
    }
}

impl VarsTree {
    /// Reads `<clan>/vars`; a clan without one has an empty tree.
    pub fn read(clan: &Path) -> io::Result<VarsTree> {
        let vars = clan.join("vars");
        let mut tree = VarsTree::default();
        for machine in subdirs(&vars.join("per-machine"))? {
            let dir = vars.join("per-machine").join(&machine);
            let mut generators = BTreeMap::new();
            for generator in subdirs(&dir)? {
                generators.insert(generator.clone(), read_generator(&dir.join(&generator))?);
            }
            tree.per_machine.insert(machine, generators);
        }
        for generator in subdirs(&vars.join("shared"))? {
            let dir = vars.join("shared").join(&generator);
            tree.shared.insert(generator, read_generator(&dir)?);
        }
        Ok(tree)
    }

    /// A machine's file `gen/file`: its own, else the shared generator's.
    pub fn find(&self, machine: &str, generator: &str, file: &str) -> Option<&StoredFile> {
        self.per_machine
            .get(machine)
            .and_then(|g| g.get(generator))
            .or_else(|| self.shared.get(generator))
            .and_then(|g| g.files.get(file))
    }
}

fn read_generator(dir: &Path) -> io::Result<Generator> {
    let mut files = BTreeMap::new();
    for name in subdirs(dir)? {
        let file_dir = dir.join(&name);
        let kind = if file_dir.join("secret").is_file() {
            StoredKind::Secret(Recipients {
                machines: entry_names(&file_dir.join("machines"))?,
                users: entry_names(&file_dir.join("users"))?,
                groups: entry_names(&file_dir.join("groups"))?,
            })
        } else if file_dir.join("value").is_file() {
            StoredKind::Public
        } else {
            StoredKind::Empty
        };
        files.insert(
            name,
            StoredFile {
                dir: file_dir,
                kind,
            },
        );
    }
    Ok(Generator { files })
}

/// Names of the subdirectories of `dir` (not following links), sorted; none if it is missing.
fn subdirs(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in read_dir_or_empty(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Names of every entry of `dir` (links, files), sorted; none if it is missing.
fn entry_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in read_dir_or_empty(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn read_dir_or_empty(
    dir: &Path,
) -> io::Result<Box<dyn Iterator<Item = io::Result<std::fs::DirEntry>>>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(Box::new(entries)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Box::new(std::iter::empty())),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_fleet_vars_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet");
        let tree = VarsTree::read(&root).unwrap();
        let cinnabar = &tree.per_machine["cinnabar"];
        let repokey = &cinnabar["borgbackup"].files["borgbackup.repokey"];
        let StoredKind::Secret(recipients) = &repokey.kind else {
            panic!("borgbackup.repokey is a secret")
        };
        assert_eq!(recipients.machines, ["cinnabar"]);
        assert_eq!(recipients.users, ["crs58"]);
        assert_eq!(
            cinnabar["borgbackup"].files["borgbackup.ssh.pub"].kind,
            StoredKind::Public
        );
        assert!(tree.shared.contains_key("user-password-cameron"));
        let shared = tree
            .find("cinnabar", "github-nix-token", "nix-access-tokens")
            .unwrap();
        assert!(
            shared
                .dir
                .ends_with("vars/shared/github-nix-token/nix-access-tokens")
        );
        assert_eq!(tree.find("cinnabar", "nope", "x"), None);
    }

    #[test]
    fn a_clan_without_vars_has_an_empty_tree() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(VarsTree::read(dir.path()).unwrap(), VarsTree::default());
    }
}
