//! The vars tree as it lies in a clan (`vars/per-machine/<m>/<gen>/<file>/`,
//! `vars/shared/<gen>/<file>/`): which files exist, public (`value`) or secret (`secret` with
//! recipient links `machines/<m>`, `users/<u>`, `groups/<g>`). Also `sops/{users,machines}/*`.
//! Recipient links are read by name; a plain file in their place (as some copies of a clan
//! hold them) counts the same.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::model::vars::names::{self, NameError};

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

impl VarsTree {
    /// Reads `<clan>/vars` from disk; a clan without one has an empty tree.
    pub fn read(clan: &Path) -> io::Result<VarsTree> {
        VarsTree::read_from(&Disk(clan))
    }

    /// Reads `vars/` from `source` (the disk, or the clan as loaded).
    pub fn read_from(source: &dyn ClanTree) -> io::Result<VarsTree> {
        let mut tree = VarsTree::default();
        for machine in subdirs(source, "vars/per-machine")? {
            let dir = format!("vars/per-machine/{machine}");
            let mut generators = BTreeMap::new();
            for generator in subdirs(source, &dir)? {
                let generator_dir = format!("{dir}/{generator}");
                generators.insert(generator, read_generator(source, &generator_dir)?);
            }
            tree.per_machine.insert(machine, generators);
        }
        for generator in subdirs(source, "vars/shared")? {
            let dir = format!("vars/shared/{generator}");
            tree.shared.insert(generator, read_generator(source, &dir)?);
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

/// `vars/per-machine/<m>/<gen>` for a machine's generator, `vars/shared/<gen>` for a shared one;
/// an error when a name is not one path component (`model::vars::names`).
pub fn generator_dir(
    clan: &Path,
    machine: Option<&str>,
    generator: &str,
) -> Result<PathBuf, NameError> {
    match machine {
        Some(machine) => names::join(
            &clan.join("vars/per-machine"),
            &[("machine", machine), ("generator", generator)],
        ),
        None => names::join(&clan.join("vars/shared"), &[("generator", generator)]),
    }
}

/// `sops/secrets/<m>-age.key`, where clan keeps a machine's age identity.
pub fn key_secret_dir(clan: &Path, machine: &str) -> Result<PathBuf, NameError> {
    let machine = names::component("machine", machine)?;
    Ok(clan.join("sops/secrets").join(format!("{machine}-age.key")))
}

/// `sops/machines/<m>`, where clan keeps a machine's public key (`key.json`).
pub fn machine_key_dir(clan: &Path, machine: &str) -> Result<PathBuf, NameError> {
    names::join(&clan.join("sops/machines"), &[("machine", machine)])
}

/// Stores a public file: `<file_dir>/value`, replacing a secret that was there.
pub fn write_public(file_dir: &Path, content: &[u8]) -> io::Result<()> {
    std::fs::create_dir_all(file_dir)?;
    write_atomically(&file_dir.join("value"), content)?;
    remove_if_present(&file_dir.join("secret"))?;
    for links in ["machines", "users", "groups"] {
        remove_dir_if_present(&file_dir.join(links))?;
    }
    Ok(())
}

/// Stores a secret: `<file_dir>/secret` (the sops file) and the recipient links clan puts beside
/// it, `machines/<m> -> ../../../../../../sops/machines/<m>` and `users/<u> -> .../sops/users/<u>`
/// (one `../` fewer for shared generators, whose directory is one level higher).
pub fn write_secret(
    file_dir: &Path,
    sops_text: &str,
    recipients: &Recipients,
    shared: bool,
) -> io::Result<()> {
    std::fs::create_dir_all(file_dir)?;
    write_atomically(&file_dir.join("secret"), sops_text.as_bytes())?;
    remove_if_present(&file_dir.join("value"))?;
    let up = if shared {
        "../../../../../"
    } else {
        "../../../../../../"
    };
    for (kind, list) in [
        ("machines", &recipients.machines),
        ("users", &recipients.users),
        ("groups", &recipients.groups),
    ] {
        let dir = file_dir.join(kind);
        remove_dir_if_present(&dir)?;
        if list.is_empty() {
            continue;
        }
        std::fs::create_dir(&dir)?;
        for name in list {
            let link = names::join(&dir, &[("recipient", name)])?;
            std::os::unix::fs::symlink(format!("{up}sops/{kind}/{name}"), link)?;
        }
    }
    Ok(())
}

/// Stores a machine's age identity as clan does in `dir` (`sops/secrets/<m>-age.key`, see
/// [`key_secret_dir`]): `secret` (a sops file for the admins) with
/// `users/<u> -> ../../../users/<u>` links beside it.
pub fn write_key_secret(dir: &Path, sops_text: &str, users: &[String]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomically(&dir.join("secret"), sops_text.as_bytes())?;
    let links = dir.join("users");
    remove_dir_if_present(&links)?;
    std::fs::create_dir(&links)?;
    for user in users {
        let link = names::join(&links, &[("user", user)])?;
        std::os::unix::fs::symlink(format!("../../../users/{user}"), link)?;
    }
    Ok(())
}

/// Writes `<dir>/key.json`.
pub fn write_key_json(dir: &Path, text: &str) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomically(&dir.join("key.json"), format!("{text}\n").as_bytes())
}

/// Write to a temporary sibling, then rename over the target: readers see the old file or the
/// new one, never half of one.
fn write_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(content)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn remove_dir_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn read_generator(source: &dyn ClanTree, dir: &str) -> io::Result<Generator> {
    let mut files = BTreeMap::new();
    for name in subdirs(source, dir)? {
        let file_dir = format!("{dir}/{name}");
        let kind = if source.is_file(&format!("{file_dir}/secret")) {
            StoredKind::Secret(Recipients {
                machines: entry_names(source, &format!("{file_dir}/machines"))?,
                users: entry_names(source, &format!("{file_dir}/users"))?,
                groups: entry_names(source, &format!("{file_dir}/groups"))?,
            })
        } else if source.is_file(&format!("{file_dir}/value")) {
            StoredKind::Public
        } else {
            StoredKind::Empty
        };
        files.insert(
            name,
            StoredFile {
                dir: source.path(&file_dir),
                kind,
            },
        );
    }
    Ok(Generator { files })
}

/// Where a vars tree and the sops files' texts are read from: the disk (the `vars` commands),
/// or the clan as loaded into the database (the check). Paths are clan-relative.
pub trait ClanTree {
    /// The entries of the directory `rel`, with whether each is a directory (not following
    /// links); none when it does not exist.
    fn entries(&self, rel: &str) -> io::Result<Vec<(String, bool)>>;
    /// Whether `rel` is a file (following links).
    fn is_file(&self, rel: &str) -> bool;
    /// The text of the file `rel`.
    fn text(&self, rel: &str) -> io::Result<String>;
    /// Where `rel` is on disk.
    fn path(&self, rel: &str) -> PathBuf;
}

/// The clan on disk at the given directory.
pub struct Disk<'a>(pub &'a Path);

impl ClanTree for Disk<'_> {
    fn entries(&self, rel: &str) -> io::Result<Vec<(String, bool)>> {
        let entries = match std::fs::read_dir(self.path(rel)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((name, entry.file_type()?.is_dir()));
        }
        Ok(out)
    }

    fn is_file(&self, rel: &str) -> bool {
        self.path(rel).is_file()
    }

    fn text(&self, rel: &str) -> io::Result<String> {
        std::fs::read_to_string(self.path(rel))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

/// Names of the subdirectories of `dir` (not following links), sorted; none if it is missing.
fn subdirs(source: &dyn ClanTree, dir: &str) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = (source.entries(dir)?.into_iter())
        .filter_map(|(name, is_dir)| is_dir.then_some(name))
        .collect();
    names.sort();
    Ok(names)
}

/// Names of every entry of `dir` (links, files), sorted; none if it is missing.
fn entry_names(source: &dyn ClanTree, dir: &str) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = source.entries(dir)?.into_iter().map(|(n, _)| n).collect();
    names.sort();
    Ok(names)
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

    #[test]
    fn written_files_read_back_with_clans_link_layout() {
        let clan = tempfile::tempdir().unwrap();
        let recipients = Recipients {
            machines: vec!["peer1".into()],
            users: vec!["admin".into()],
            groups: vec![],
        };
        let own = generator_dir(clan.path(), Some("peer1"), "svc").unwrap();
        write_secret(&own.join("a-secret"), "{}", &recipients, false).unwrap();
        write_public(&own.join("not-a-secret"), b"hello").unwrap();
        let shared = generator_dir(clan.path(), None, "token").unwrap();
        write_secret(&shared.join("t"), "{}", &recipients, true).unwrap();

        let link = std::fs::read_link(own.join("a-secret/machines/peer1")).unwrap();
        assert_eq!(link, Path::new("../../../../../../sops/machines/peer1"));
        let link = std::fs::read_link(shared.join("t/users/admin")).unwrap();
        assert_eq!(link, Path::new("../../../../../sops/users/admin"));

        let tree = VarsTree::read(clan.path()).unwrap();
        assert_eq!(
            tree.find("peer1", "svc", "a-secret").unwrap().kind,
            StoredKind::Secret(recipients)
        );
        assert_eq!(
            tree.find("peer1", "svc", "not-a-secret").unwrap().kind,
            StoredKind::Public
        );
        assert!(tree.find("peer1", "token", "t").is_some());

        // a secret that becomes public loses its secret file and links
        write_public(&own.join("a-secret"), b"now public").unwrap();
        assert!(!own.join("a-secret/secret").exists() && !own.join("a-secret/machines").exists());
        // no temporary files are left beside the targets
        let names: Vec<_> = std::fs::read_dir(own.join("a-secret"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["value"]);
    }
}
