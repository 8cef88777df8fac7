//! What the sops files of a clan say about their recipients, as plain data the checker reads
//! (`check::vars`, `check::sops_nix`): the age keys of `sops/users/*` and `sops/machines/*`,
//! the recipients of every secret var (`sops.age[].recipient`), and the keys and recipients of
//! the legacy sops-nix files machines name (`sops.secrets.*.sopsFile`; sops YAML/JSON keep
//! their keys in plaintext), parsed from a file's text. Reading the files is `vars::facts`'.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SopsFacts {
    /// `sops/users/<u>/key.json`: the user's age public keys (unreadable files are left out).
    pub user_keys: BTreeMap<String, Vec<String>>,
    /// `sops/machines/<m>/key.json`.
    pub machine_keys: BTreeMap<String, Vec<String>>,
    /// Secret vars by directory (`vars/per-machine/<m>/<g>/<f>` or `vars/shared/<g>/<f>`).
    pub secrets: BTreeMap<String, SecretFacts>,
    /// Legacy sops-nix files by the path the model gives (relative to the clan directory, or
    /// absolute).
    pub files: BTreeMap<String, SopsFileFacts>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretFacts {
    /// The `machines/<m>` and `users/<u>` links beside the secret.
    pub machines: Vec<String>,
    pub users: Vec<String>,
    /// The age recipients written in the sops file; `None` when it could not be read.
    pub recipients: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SopsFileFacts {
    Missing,
    Read {
        /// Every key path (`a/b` for nested maps) outside `sops`; `None` for formats whose
        /// keys clanc does not read (binary, ini) or a file that does not parse.
        keys: Option<BTreeSet<String>>,
        /// `sops.age[].recipient`; `None` when the file has no readable `sops` metadata.
        recipients: Option<Vec<String>>,
    },
}

/// Keys and recipients of a sops file in sops-nix's `format` ("yaml", "json", "binary",
/// "dotenv", "ini"). Binary files are sops JSON with a single `data` value.
pub fn legacy_file_facts(text: &str, format: &str) -> SopsFileFacts {
    match format {
        "json" | "binary" => {
            let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
                return SopsFileFacts::Read {
                    keys: None,
                    recipients: None,
                };
            };
            let recipients = json["sops"]["age"].as_array().map(|list| {
                list.iter()
                    .filter_map(|a| a["recipient"].as_str().map(str::to_string))
                    .collect()
            });
            let keys = (format == "json").then(|| {
                let mut keys = BTreeSet::new();
                json_keys(&json, "", &mut keys);
                keys
            });
            SopsFileFacts::Read { keys, recipients }
        }
        "yaml" => {
            let docs = yaml_rust2::YamlLoader::load_from_str(text).unwrap_or_default();
            let Some(doc) = docs.first() else {
                return SopsFileFacts::Read {
                    keys: None,
                    recipients: None,
                };
            };
            let mut keys = BTreeSet::new();
            yaml_keys(doc, "", &mut keys);
            let recipients = doc["sops"]["age"].as_vec().map(|list| {
                list.iter()
                    .filter_map(|a| a["recipient"].as_str().map(str::to_string))
                    .collect()
            });
            SopsFileFacts::Read {
                keys: Some(keys),
                recipients,
            }
        }
        "dotenv" => {
            let mut keys = BTreeSet::new();
            let mut recipients = Vec::new();
            for line in text.lines() {
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                let key = key.trim();
                if let Some(rest) = key.strip_prefix("sops_age__list_") {
                    if rest.ends_with("__map_recipient") {
                        recipients.push(value.trim().to_string());
                    }
                } else if !key.starts_with("sops_") && !key.starts_with('#') {
                    keys.insert(key.to_string());
                }
            }
            SopsFileFacts::Read {
                keys: Some(keys),
                recipients: Some(recipients),
            }
        }
        _ => SopsFileFacts::Read {
            keys: None,
            recipients: None,
        },
    }
}

fn json_keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    let serde_json::Value::Object(map) = value else {
        return;
    };
    for (key, child) in map {
        if prefix.is_empty() && key == "sops" {
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}/{key}")
        };
        json_keys(child, &path, out);
        out.insert(path);
    }
}

fn yaml_keys(value: &yaml_rust2::Yaml, prefix: &str, out: &mut BTreeSet<String>) {
    let yaml_rust2::Yaml::Hash(map) = value else {
        return;
    };
    for (key, child) in map {
        let key = match key {
            yaml_rust2::Yaml::String(s) | yaml_rust2::Yaml::Real(s) => s.clone(),
            yaml_rust2::Yaml::Integer(i) => i.to_string(),
            yaml_rust2::Yaml::Boolean(b) => b.to_string(),
            _ => continue,
        };
        if prefix.is_empty() && key == "sops" {
            continue;
        }
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}/{key}")
        };
        yaml_keys(child, &path, out);
        out.insert(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_fleets_legacy_yaml_keys_and_recipients() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet");
        let text = std::fs::read_to_string(root.join("secrets/users/crs58.sops.yaml")).unwrap();
        let SopsFileFacts::Read { keys, recipients } = legacy_file_facts(&text, "yaml") else {
            panic!("read")
        };
        let keys = keys.unwrap();
        assert!(keys.contains("users/crs58/github-token"), "{keys:?}");
        assert!(keys.contains("users"));
        assert!(!keys.iter().any(|k| k.starts_with("sops")));
        let recipients = recipients.unwrap();
        assert!(recipients.contains(
            &"age1ktqs55zu679yf9s24gq96hycqgzffwtz3u8qy077jz4qgd27kckstnstrg".to_string()
        ));
    }

    #[test]
    fn json_dotenv_and_binary_files() {
        let json = r#"{"db": {"password": "ENC[...]"}, "sops": {"age": [{"recipient": "age1x", "enc": ""}]}}"#;
        assert_eq!(
            legacy_file_facts(json, "json"),
            SopsFileFacts::Read {
                keys: Some(["db".to_string(), "db/password".to_string()].into()),
                recipients: Some(vec!["age1x".into()]),
            }
        );
        let SopsFileFacts::Read { keys, recipients } = legacy_file_facts(json, "binary") else {
            panic!()
        };
        assert_eq!((keys, recipients), (None, Some(vec!["age1x".into()])));
        let env = "TOKEN=ENC[...]\nsops_age__list_0__map_recipient=age1y\nsops_version=3.9.0\n";
        assert_eq!(
            legacy_file_facts(env, "dotenv"),
            SopsFileFacts::Read {
                keys: Some(["TOKEN".to_string()].into()),
                recipients: Some(vec!["age1y".into()]),
            }
        );
    }
}
