//! The plan's fingerprint: a sha256 over every input of the plan (each file of the clan,
//! `flake.lock` and `clanc.toml` included, the listing of the vars tree, and clanc's
//! version), with the per-file hashes kept so a stale plan can name what changed.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The key under which the vars tree's listing is hashed.
pub const VARS_TREE: &str = "vars/";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// `sha256:<hex>` over the version and every entry of `inputs`.
    pub digest: String,
    pub clanc_version: String,
    /// Path (relative to the clan) -> `sha256:<hex>` of its text; `vars/` for the listing.
    pub inputs: BTreeMap<String, String>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

impl Fingerprint {
    /// `files`: (relative path, text); `dirs`: (relative directory, entry names) of the whole
    /// clan, of which the `vars/` tree counts.
    pub fn compute<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        dirs: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>,
        clanc_version: &str,
    ) -> Fingerprint {
        let mut inputs: BTreeMap<String, String> = files
            .into_iter()
            .map(|(path, text)| (path.to_string(), sha256_hex(text)))
            .collect();
        let mut listing: Vec<(&str, Vec<&str>)> = dirs
            .into_iter()
            .filter(|(dir, _)| *dir == "vars" || dir.starts_with("vars/"))
            .collect();
        if !listing.is_empty() {
            listing.sort();
            let mut text = String::new();
            for (dir, entries) in listing {
                text.push_str(dir);
                for entry in entries {
                    text.push('\0');
                    text.push_str(entry);
                }
                text.push('\n');
            }
            inputs.insert(VARS_TREE.to_string(), sha256_hex(text.as_bytes()));
        }
        let mut all = format!("clanc {clanc_version}\n");
        for (path, hash) in &inputs {
            all.push_str(path);
            all.push('\0');
            all.push_str(hash);
            all.push('\n');
        }
        Fingerprint {
            digest: sha256_hex(all.as_bytes()),
            clanc_version: clanc_version.to_string(),
            inputs,
        }
    }

    /// A short id for names that must be unique per plan (systemd units).
    pub fn run_id(&self) -> String {
        self.digest
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect()
    }

    /// Why a plan made with `self` does not fit `current` (the first input that differs),
    /// or None when it still does.
    pub fn stale_reason(&self, current: &Fingerprint) -> Option<String> {
        if self.clanc_version != current.clanc_version {
            return Some(format!(
                "stale plan: it was made by clanc {}, this is clanc {}",
                self.clanc_version, current.clanc_version
            ));
        }
        let paths = self.inputs.keys().chain(current.inputs.keys());
        let mut changed: Vec<&String> = paths
            .filter(|p| self.inputs.get(*p) != current.inputs.get(*p))
            .collect();
        changed.sort();
        if let Some(path) = changed.first() {
            let what = if *path == VARS_TREE {
                "the vars tree (vars/)".to_string()
            } else {
                path.to_string()
            };
            return Some(format!(
                "stale plan: {what} changed since the plan was made"
            ));
        }
        if self.digest != current.digest {
            return Some("stale plan: its fingerprint does not match its inputs".to_string());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(files: &[(&str, &str)], dirs: &[(&str, &[&str])]) -> Fingerprint {
        Fingerprint::compute(
            files.iter().map(|(p, t)| (*p, t.as_bytes())),
            dirs.iter().map(|(d, e)| (*d, e.to_vec())),
            "0.1.0",
        )
    }

    #[test]
    fn every_input_counts() {
        let base = fp(
            &[("flake.nix", "{}"), ("flake.lock", "{}")],
            &[("vars", &["a"])],
        );
        assert_eq!(
            base,
            fp(
                &[("flake.nix", "{}"), ("flake.lock", "{}")],
                &[("vars", &["a"])]
            )
        );
        assert!(base.digest.starts_with("sha256:") && base.digest.len() == 71);
        let lock = fp(
            &[("flake.nix", "{}"), ("flake.lock", "{ }")],
            &[("vars", &["a"])],
        );
        assert_eq!(
            base.stale_reason(&lock).unwrap(),
            "stale plan: flake.lock changed since the plan was made"
        );
        let vars = fp(
            &[("flake.nix", "{}"), ("flake.lock", "{}")],
            &[("vars", &["b"])],
        );
        assert!(base.stale_reason(&vars).unwrap().contains("vars tree"));
        // Directories outside vars/ do not count.
        let other = fp(
            &[("flake.nix", "{}"), ("flake.lock", "{}")],
            &[("vars", &["a"]), ("docs", &["x"])],
        );
        assert_eq!(base.stale_reason(&other), None);
        let added = fp(
            &[
                ("flake.nix", "{}"),
                ("flake.lock", "{}"),
                ("clanc.toml", ""),
            ],
            &[("vars", &["a"])],
        );
        assert!(base.stale_reason(&added).unwrap().contains("clanc.toml"));
        let mut newer = base.clone();
        newer.clanc_version = "9.9.9".into();
        assert!(newer.stale_reason(&base).unwrap().contains("clanc 9.9.9"));
        assert_eq!(base.run_id().len(), 12);
    }
}
