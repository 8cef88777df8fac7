//! age keys as clan stores them: identities (`AGE-SECRET-KEY-1...` lines of a key file, or the
//! decrypted `sops/secrets/<m>-age.key/secret`) and public keys in `sops/{users,machines}/*/key.json`,
//! which clan writes either as one object or as a list of objects.

use std::fmt;

use age::x25519;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// A line that looks like an identity but does not parse; the line number is 1-based.
    BadIdentity {
        line: usize,
    },
    NoIdentity,
    BadKeyJson(String),
    BadRecipient(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::BadIdentity { line } => {
                write!(f, "line {line} is not a valid age identity")
            }
            KeyError::NoIdentity => write!(f, "no age identity (AGE-SECRET-KEY-1...) found"),
            KeyError::BadKeyJson(e) => write!(f, "not a clan key.json: {e}"),
            KeyError::BadRecipient(r) => write!(f, "`{r}` is not an age public key"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Every identity in an age key file: one `AGE-SECRET-KEY-1...` per line, `#` comments and
/// blank lines ignored. The error never contains the key text.
pub fn parse_identities(text: &str) -> Result<Vec<x25519::Identity>, KeyError> {
    let mut identities = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let identity = line
            .parse::<x25519::Identity>()
            .map_err(|_| KeyError::BadIdentity { line: i + 1 })?;
        identities.push(identity);
    }
    if identities.is_empty() {
        return Err(KeyError::NoIdentity);
    }
    Ok(identities)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyJson {
    One(KeyEntry),
    Many(Vec<KeyEntry>),
}

#[derive(Deserialize)]
struct KeyEntry {
    publickey: String,
    #[serde(rename = "type")]
    kind: String,
}

/// The age public keys of a `key.json` (entries of other types are skipped).
pub fn parse_key_json(text: &str) -> Result<Vec<x25519::Recipient>, KeyError> {
    let parsed: KeyJson =
        serde_json::from_str(text).map_err(|e| KeyError::BadKeyJson(e.to_string()))?;
    let entries = match parsed {
        KeyJson::One(entry) => vec![entry],
        KeyJson::Many(entries) => entries,
    };
    entries
        .into_iter()
        .filter(|e| e.kind == "age")
        .map(|e| {
            e.publickey
                .parse::<x25519::Recipient>()
                .map_err(|_| KeyError::BadRecipient(e.publickey.clone()))
        })
        .collect()
}

/// Where the admin's age identities come from, in sops's order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminKeySource {
    /// `SOPS_AGE_KEY`: the key file's content itself.
    Inline(String),
    /// `SOPS_AGE_KEY_FILE`, else `$XDG_CONFIG_HOME/sops/age/keys.txt` or
    /// `~/.config/sops/age/keys.txt`.
    File(std::path::PathBuf),
}

/// Picks the admin key source from an environment lookup (`std::env::var` in practice).
pub fn admin_key_source(env: impl Fn(&str) -> Option<String>) -> Option<AdminKeySource> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(inline) = set("SOPS_AGE_KEY") {
        return Some(AdminKeySource::Inline(inline));
    }
    if let Some(file) = set("SOPS_AGE_KEY_FILE") {
        return Some(AdminKeySource::File(file.into()));
    }
    let config = set("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| set("HOME").map(|home| std::path::Path::new(&home).join(".config")))?;
    Some(AdminKeySource::File(config.join("sops/age/keys.txt")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN_PUBLIC: &str = "age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg";

    #[test]
    fn key_json_in_both_of_clans_shapes() {
        let one = format!(r#"{{"publickey": "{ADMIN_PUBLIC}", "type": "age"}}"#);
        let many = format!(r#"[{{"publickey": "{ADMIN_PUBLIC}", "type": "age"}}]"#);
        for text in [one, many] {
            let keys = parse_key_json(&text).unwrap();
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].to_string(), ADMIN_PUBLIC);
        }
        assert!(parse_key_json(r#"{"publickey": "age1nope", "type": "age"}"#).is_err());
        assert!(parse_key_json("[1]").is_err());
    }

    #[test]
    fn identity_files_skip_comments_and_hide_bad_lines() {
        let identity = x25519::Identity::generate();
        let secret = age::secrecy::ExposeSecret::expose_secret(&identity.to_string()).to_string();
        let text = format!("# created: today\n# public key: x\n{secret}\n");
        assert_eq!(parse_identities(&text).unwrap().len(), 1);
        let bad = "AGE-SECRET-KEY-1NOTAKEY\n";
        let Err(err) = parse_identities(bad) else {
            panic!("a bad identity line is an error")
        };
        assert_eq!(err, KeyError::BadIdentity { line: 1 });
        assert!(!err.to_string().contains("NOTAKEY"));
        assert!(matches!(
            parse_identities("# nothing\n"),
            Err(KeyError::NoIdentity)
        ));
    }

    #[test]
    fn admin_key_sources_in_sops_order() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let all = env(&[
            ("SOPS_AGE_KEY", "AGE-SECRET-KEY-1X"),
            ("SOPS_AGE_KEY_FILE", "/k"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            admin_key_source(all),
            Some(AdminKeySource::Inline("AGE-SECRET-KEY-1X".into()))
        );
        let file = env(&[
            ("SOPS_AGE_KEY", ""),
            ("SOPS_AGE_KEY_FILE", "/k"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            admin_key_source(file),
            Some(AdminKeySource::File("/k".into()))
        );
        let xdg = env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(
            admin_key_source(xdg),
            Some(AdminKeySource::File("/x/sops/age/keys.txt".into()))
        );
        let home = env(&[("HOME", "/h")]);
        assert_eq!(
            admin_key_source(home),
            Some(AdminKeySource::File("/h/.config/sops/age/keys.txt".into()))
        );
        assert_eq!(admin_key_source(env(&[])), None);
    }
}
