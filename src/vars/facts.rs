//! Reads what the sops files of a clan say about their recipients from disk, for the checker
//! ([`SopsFacts`], plain data of the model: `check::vars` and `check::sops_nix` read it and do
//! no I/O): the age keys of `sops/users/*` and `sops/machines/*`, the recipients of every
//! secret var, and the legacy sops-nix files machines name.

use std::collections::BTreeMap;
use std::path::Path;

use super::keys;
use super::store::{ClanTree, Disk, StoredKind, VarsTree};
use crate::model::vars::sops_facts::{SecretFacts, SopsFacts, SopsFileFacts, legacy_file_facts};

/// Reads the facts of the clan at `root` (on disk) for its vars tree and the legacy sops files
/// named `(path, format)`.
pub fn read_sops_facts<'a>(
    root: &Path,
    tree: &VarsTree,
    legacy_files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SopsFacts {
    sops_facts(&Disk(root), tree, legacy_files)
}

/// The facts of the clan `source` holds for its vars tree and the legacy sops files named
/// `(path, format)`.
pub fn sops_facts<'a>(
    source: &dyn ClanTree,
    tree: &VarsTree,
    legacy_files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SopsFacts {
    let mut facts = SopsFacts {
        user_keys: read_keys(source, "sops/users"),
        machine_keys: read_keys(source, "sops/machines"),
        ..SopsFacts::default()
    };
    let per_machine = tree.per_machine.iter().flat_map(|(m, gens)| {
        gens.iter()
            .map(move |(g, generator)| (format!("vars/per-machine/{m}/{g}"), generator))
    });
    let shared = tree
        .shared
        .iter()
        .map(|(g, generator)| (format!("vars/shared/{g}"), generator));
    for (dir, generator) in per_machine.chain(shared) {
        for (name, file) in &generator.files {
            let StoredKind::Secret(links) = &file.kind else {
                continue;
            };
            let recipients = source
                .text(&format!("{dir}/{name}/secret"))
                .ok()
                .and_then(|text| super::sops::recipients(&text).ok());
            facts.secrets.insert(
                format!("{dir}/{name}"),
                SecretFacts {
                    machines: links.machines.clone(),
                    users: links.users.clone(),
                    recipients,
                },
            );
        }
    }
    // A file named with two formats: which keys sops-nix looks up is not one answer.
    let mut formats: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, format) in legacy_files {
        if let Some(first) = formats.get(path) {
            if *first != format
                && let Some(SopsFileFacts::Read { keys, .. }) = facts.files.get_mut(path)
            {
                *keys = None;
            }
            continue;
        }
        formats.insert(path, format);
        let fact = match source.text(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SopsFileFacts::Missing,
            Err(_) => SopsFileFacts::Read {
                keys: None,
                recipients: None,
            },
            Ok(text) => legacy_file_facts(&text, format),
        };
        facts.files.insert(path.to_string(), fact);
    }
    facts
}

/// The facts for a built model: its vars tree and every legacy sops file its machines name
/// (with a known path), from `source`. An unreadable `vars/` counts as empty.
pub fn facts_for_clan(source: &dyn ClanTree, clan: &crate::model::Clan) -> SopsFacts {
    facts_for_legacy_files(source, &legacy_sops_files(clan))
}

/// The legacy sops-nix files a model's machines name (with a known path), each as
/// `(path, format)`: what [`facts_for_clan`] reads besides the vars tree.
pub fn legacy_sops_files(clan: &crate::model::Clan) -> Vec<(String, String)> {
    clan.machines
        .values()
        .flat_map(|m| &m.sops_secrets)
        .filter_map(|s| {
            let path = s.sops_file.as_ref()?.value.known()?;
            let format = s.format.known().map_or("yaml", String::as_str);
            Some((path.clone(), format.to_string()))
        })
        .collect()
}

/// [`facts_for_clan`] of a model whose machines name the legacy files `legacy`.
pub fn facts_for_legacy_files(source: &dyn ClanTree, legacy: &[(String, String)]) -> SopsFacts {
    let tree = VarsTree::read_from(source).unwrap_or_default();
    let legacy = legacy.iter().map(|(p, f)| (p.as_str(), f.as_str()));
    sops_facts(source, &tree, legacy)
}

/// The age keys of every `<dir>/<name>/key.json`.
fn read_keys(source: &dyn ClanTree, dir: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, _) in source.entries(dir).unwrap_or_default() {
        let Ok(text) = source.text(&format!("{dir}/{name}/key.json")) else {
            continue;
        };
        if let Ok(keys) = keys::parse_key_json(&text) {
            out.insert(name, keys.iter().map(|k| k.to_string()).collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clans_keys_and_secret_recipients() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet");
        let tree = VarsTree::read(&root).unwrap();
        let facts = read_sops_facts(&root, &tree, [("nope.yaml", "yaml")]);
        assert_eq!(facts.files["nope.yaml"], SopsFileFacts::Missing);
        // named as YAML by one secret and as a whole (binary) file by another: no keys
        let legacy = "secrets/users/crs58.sops.yaml";
        let facts = read_sops_facts(&root, &tree, [(legacy, "yaml"), (legacy, "binary")]);
        let SopsFileFacts::Read { keys, recipients } = &facts.files[legacy] else {
            panic!("read")
        };
        assert_eq!(keys, &None);
        assert!(recipients.as_ref().is_some_and(|r| !r.is_empty()));
        let secret = &facts.secrets["vars/per-machine/cinnabar/borgbackup/borgbackup.repokey"];
        assert_eq!(secret.users, ["crs58"]);
        let recipients = secret.recipients.as_ref().unwrap();
        for key in &facts.user_keys["crs58"] {
            assert!(recipients.contains(key));
        }
        for key in &facts.machine_keys["cinnabar"] {
            assert!(recipients.contains(key));
        }
        assert!(facts.secrets.keys().any(|k| k.starts_with("vars/shared/")));
    }
}
