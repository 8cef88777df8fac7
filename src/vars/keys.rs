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
}
