//! What exists under a clan's `vars/` directory, as plain data built from the workspace's
//! directory listings (the database's, so an editor's view is what is checked): a fact of the
//! workspace that the checker and the planner read, and nothing here does I/O.

use std::collections::{BTreeMap, BTreeSet};

use super::sops_facts::SopsFacts;

/// Generator directories and, per generator, its file directories.
pub type GeneratorDirs = BTreeMap<String, BTreeSet<String>>;

/// What exists under the clan's `vars/` directory (paths relative to the clan directory):
/// `vars/per-machine/<m>/<generator>/<file>/` and `vars/shared/<generator>/<file>/`. Plain
/// data: callers list the directories, the checks only read this.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VarsListing {
    /// Every `vars/per-machine/<m>/` directory, with its generator and file directories.
    pub per_machine: BTreeMap<String, GeneratorDirs>,
    /// `vars/shared/`.
    pub shared: GeneratorDirs,
    /// Per-machine secret files (`vars/per-machine/<m>/<g>/<f>` holding `secret`), with the
    /// machines named as recipients beside them (`machines/<name>` links).
    pub secrets: BTreeMap<(String, String, String), BTreeSet<String>>,
    /// What the sops files say (recipients, keys), when the caller read them
    /// (`vars::facts::read_sops_facts`); empty otherwise, and the checks that need it are silent.
    pub sops: SopsFacts,
}

impl VarsListing {
    /// Reads the listing from the clan's directories (paths relative, `/`-separated, with
    /// the names of their entries).
    pub fn from_dirs<'p>(dirs: impl IntoIterator<Item = (&'p str, Vec<&'p str>)>) -> VarsListing {
        let mut listing = VarsListing::default();
        let mut recipients: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (dir, entries) in dirs {
            let parts: Vec<&str> = dir.split('/').collect();
            if let ["vars", "per-machine", m, g, f] = parts.as_slice()
                && entries.contains(&"secret")
            {
                listing.secrets.insert(
                    (m.to_string(), g.to_string(), f.to_string()),
                    BTreeSet::new(),
                );
            }
            if let ["vars", "per-machine", _, _, _, "machines"] = parts.as_slice() {
                recipients.insert(
                    dir.trim_end_matches("/machines").to_string(),
                    entries.iter().map(|e| e.to_string()).collect(),
                );
            }
            match parts.as_slice() {
                ["vars", "per-machine", machine, rest @ ..] => {
                    let gens = listing.per_machine.entry(machine.to_string()).or_default();
                    match rest {
                        [generator] => {
                            gens.entry(generator.to_string()).or_default();
                        }
                        [generator, file] => {
                            gens.entry(generator.to_string())
                                .or_default()
                                .insert(file.to_string());
                        }
                        _ => {}
                    }
                }
                ["vars", "shared", generator, rest @ ..] => {
                    let files = listing.shared.entry(generator.to_string()).or_default();
                    if let [file] = rest {
                        files.insert(file.to_string());
                    }
                }
                _ => {}
            }
        }
        for ((m, g, f), names) in listing.secrets.iter_mut() {
            if let Some(r) = recipients.get(&format!("vars/per-machine/{m}/{g}/{f}")) {
                *names = r.clone();
            }
        }
        listing
    }

    /// Whether the file's directory exists (`vars/shared/<g>/<f>` when `shared`).
    pub fn has_file(&self, machine: &str, generator: &str, file: &str, shared: bool) -> bool {
        let dirs = if shared {
            Some(&self.shared)
        } else {
            self.per_machine.get(machine)
        };
        dirs.and_then(|d| d.get(generator))
            .is_some_and(|files| files.contains(file))
    }
}
