//! sops's binary format, as clan writes every secret: `{"data": "ENC[AES256_GCM,...]", "sops":
//! {...}}`. Read: unwrap the data key with an age identity, decrypt the value, verify the MAC
//! (a tampered file is an error). Write: a fresh data key, the value encrypted, the MAC, the data
//! key wrapped for every recipient. No I/O here: callers read and write the files.
//!
//! The scheme (sops `aes/cipher.go`, `cmd/sops/common`): AES-256-GCM with a 32-byte IV; the
//! value's additional data is its key path joined by `:` plus a trailing `:` (`"data:"`); the
//! MAC is SHA-512 over the plaintext values, as upper-case hex, encrypted with the data key and
//! the `lastmodified` text as additional data.

use std::fmt;
use std::io::{Read, Write};

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use age::x25519;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

/// sops's AES-GCM: a 32-byte nonce and a 16-byte tag.
type Cipher = AesGcm<Aes256, U32>;

/// The sops version clanc writes into files (clan's current sops writes this one).
const SOPS_VERSION: &str = "3.10.2";
const DATA_PATH_AAD: &[u8] = b"data:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SopsError {
    /// Not the JSON shape of a sops binary file.
    Format(String),
    /// None of the given identities is a recipient of the file.
    NoMatchingIdentity,
    /// A value's ciphertext failed authentication: altered, or a wrong data key.
    Tampered(&'static str),
    /// The values do not hash to the file's MAC.
    MacMismatch,
    /// age failed while wrapping a data key.
    Age(String),
}

impl fmt::Display for SopsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SopsError::Format(e) => write!(f, "not a sops file: {e}"),
            SopsError::NoMatchingIdentity => {
                write!(f, "none of the available age keys can decrypt this file")
            }
            SopsError::Tampered(what) => {
                write!(f, "the {what} failed authentication: the file was altered")
            }
            SopsError::MacMismatch => write!(f, "MAC mismatch: the file was altered"),
            SopsError::Age(e) => write!(f, "age: {e}"),
        }
    }
}

impl std::error::Error for SopsError {}

/// The whole document: sops authenticates every value of the tree (an extra key, encrypted or
/// not, fails its MAC or its own decryption), so a file with anything beside `data` and `sops`
/// is refused as the real `sops` refuses it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SopsFile {
    data: String,
    sops: Metadata,
}

#[derive(Serialize, Deserialize)]
struct Metadata {
    #[serde(default)]
    age: Vec<AgeStanza>,
    lastmodified: String,
    mac: String,
    #[serde(default = "default_unencrypted_suffix")]
    unencrypted_suffix: String,
    version: String,
}

fn default_unencrypted_suffix() -> String {
    "_unencrypted".to_string()
}

#[derive(Serialize, Deserialize)]
struct AgeStanza {
    recipient: String,
    enc: String,
}

/// The age public keys a file is encrypted for, as written in it.
pub fn recipients(text: &str) -> Result<Vec<String>, SopsError> {
    let file: SopsFile = parse(text)?;
    Ok(file.sops.age.into_iter().map(|a| a.recipient).collect())
}

/// Decrypts a sops binary-format file with any of `identities`, verifying its MAC.
pub fn decrypt(
    text: &str,
    identities: &[x25519::Identity],
) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let file: SopsFile = parse(text)?;
    let key = unwrap_data_key(&file.sops.age, identities)?;
    let plaintext = if file.data.is_empty() {
        // sops leaves empty values unencrypted.
        Zeroizing::new(Vec::new())
    } else {
        decrypt_value(&file.data, &key, DATA_PATH_AAD, "value")?
    };
    let mac = decrypt_value(
        &file.sops.mac,
        &key,
        file.sops.lastmodified.as_bytes(),
        "MAC",
    )?;
    let expected = mac_of(&plaintext);
    if !constant_time_eq(mac.as_slice(), expected.as_bytes()) {
        return Err(SopsError::MacMismatch);
    }
    Ok(plaintext)
}

/// Encrypts `plaintext` for `recipients` (at least one) in the binary format clan writes.
/// `lastmodified` is an RFC 3339 UTC time (`2025-05-04T12:44:20Z`).
pub fn encrypt(
    plaintext: &[u8],
    recipients: &[x25519::Recipient],
    lastmodified: &str,
) -> Result<String, SopsError> {
    if recipients.is_empty() {
        return Err(SopsError::Age(
            "a secret needs at least one recipient".to_string(),
        ));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    let data = if plaintext.is_empty() {
        String::new()
    } else {
        encrypt_value(plaintext, &key, DATA_PATH_AAD)
    };
    let mac = encrypt_value(mac_of(plaintext).as_bytes(), &key, lastmodified.as_bytes());
    let mut sorted: Vec<&x25519::Recipient> = recipients.iter().collect();
    sorted.sort_by_key(|r| r.to_string());
    sorted.dedup_by_key(|r| r.to_string());
    let age = sorted
        .into_iter()
        .map(|recipient| {
            Ok(AgeStanza {
                recipient: recipient.to_string(),
                enc: wrap_data_key(&key, recipient)?,
            })
        })
        .collect::<Result<Vec<_>, SopsError>>()?;
    let file = SopsFile {
        data,
        sops: Metadata {
            age,
            lastmodified: lastmodified.to_string(),
            mac,
            unencrypted_suffix: default_unencrypted_suffix(),
            version: SOPS_VERSION.to_string(),
        },
    };
    // sops writes JSON indented with tabs, with a final newline.
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    file.serialize(&mut serializer)
        .map_err(|e| SopsError::Format(e.to_string()))?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|e| SopsError::Format(e.to_string()))
}

fn parse(text: &str) -> Result<SopsFile, SopsError> {
    serde_json::from_str(text).map_err(|e| SopsError::Format(e.to_string()))
}

fn unwrap_data_key(
    stanzas: &[AgeStanza],
    identities: &[x25519::Identity],
) -> Result<Zeroizing<[u8; 32]>, SopsError> {
    for stanza in stanzas {
        let reader = age::armor::ArmoredReader::new(stanza.enc.as_bytes());
        let Ok(decryptor) = age::Decryptor::new(reader) else {
            continue;
        };
        let Ok(mut stream) = decryptor.decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        else {
            continue;
        };
        let mut key = Zeroizing::new(Vec::new());
        if stream.read_to_end(&mut key).is_err() {
            return Err(SopsError::Tampered("data key"));
        }
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| SopsError::Format("the data key is not 32 bytes".to_string()))?;
        return Ok(Zeroizing::new(key));
    }
    Err(SopsError::NoMatchingIdentity)
}

fn wrap_data_key(key: &[u8; 32], recipient: &x25519::Recipient) -> Result<String, SopsError> {
    let age_error = |e: &dyn fmt::Display| SopsError::Age(e.to_string());
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(|e| age_error(&e))?;
    let armor = age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor)
        .map_err(|e| age_error(&e))?;
    let mut writer = encryptor.wrap_output(armor).map_err(|e| age_error(&e))?;
    writer.write_all(key).map_err(|e| age_error(&e))?;
    let armored = writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(|e| age_error(&e))?;
    String::from_utf8(armored).map_err(|e| age_error(&e))
}

/// Upper-case hex SHA-512 of the values, as sops computes its MAC.
fn mac_of(plaintext: &[u8]) -> String {
    let digest = Sha512::digest(plaintext);
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

fn encrypt_value(plaintext: &[u8], key: &[u8; 32], aad: &[u8]) -> String {
    let mut iv = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let cipher = Cipher::new(key.into());
    // Encryption with a valid key and nonce size cannot fail.
    let sealed = cipher
        .encrypt(
            (&iv).into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    let (ciphertext, tag) = sealed.split_at(sealed.len().saturating_sub(16));
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:str]",
        BASE64.encode(ciphertext),
        BASE64.encode(iv),
        BASE64.encode(tag)
    )
}

fn decrypt_value(
    enc: &str,
    key: &[u8; 32],
    aad: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let bad = |e: &str| SopsError::Format(format!("{what}: {e}"));
    let inner = enc
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| bad("not an ENC[AES256_GCM,...] value"))?;
    let (mut data, mut iv, mut tag) = (None, None, None);
    for field in inner.split(',') {
        match field.split_once(':') {
            Some(("data", v)) => data = Some(v),
            Some(("iv", v)) => iv = Some(v),
            Some(("tag", v)) => tag = Some(v),
            // The binary format's value and the MAC are strings; sops cannot read another
            // type here (it fails on `bytes`), and the type is not authenticated.
            Some(("type", "str")) => {}
            Some(("type", other)) => {
                return Err(bad(&format!("the value's type is `{other}`, not `str`")));
            }
            _ => return Err(bad("unexpected field")),
        }
    }
    let decode = |v: Option<&str>, name: &str| {
        BASE64
            .decode(v.ok_or_else(|| bad(&format!("no {name}")))?)
            .map_err(|_| bad(&format!("{name} is not base64")))
    };
    let mut sealed = decode(data, "data")?;
    let iv = decode(iv, "iv")?;
    let tag = decode(tag, "tag")?;
    if iv.len() != 32 || tag.len() != 16 {
        return Err(bad("iv or tag of the wrong size"));
    }
    sealed.extend_from_slice(&tag);
    let cipher = Cipher::new(key.into());
    let nonce = aes_gcm::Nonce::<U32>::from_slice(&iv);
    cipher
        .decrypt(nonce, Payload { msg: &sealed, aad })
        .map(Zeroizing::new)
        .map_err(|_| SopsError::Tampered(what))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `seconds` since the Unix epoch as RFC 3339 UTC, the form of `lastmodified`.
pub fn rfc3339_utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rem = seconds % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_746_362_660), "2025-05-04T12:44:20Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let identity = x25519::Identity::generate();
        let other = x25519::Identity::generate();
        let text = encrypt(
            b"hunter2\n",
            &[identity.to_public()],
            "2026-11-26T08:00:00Z",
        )
        .unwrap();
        assert_eq!(
            decrypt(&text, std::slice::from_ref(&identity))
                .unwrap()
                .as_slice(),
            b"hunter2\n"
        );
        assert!(!text.contains("hunter2"));
        assert_eq!(
            decrypt(&text, &[other]).unwrap_err(),
            SopsError::NoMatchingIdentity
        );

        let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
        file["sops"]["lastmodified"] = "2026-11-26T08:00:01Z".into();
        let altered = file.to_string();
        assert_eq!(
            decrypt(&altered, std::slice::from_ref(&identity)).unwrap_err(),
            SopsError::Tampered("MAC")
        );
    }

    #[test]
    fn a_well_encrypted_but_wrong_mac_is_a_mismatch() {
        let identity = x25519::Identity::generate();
        let key = [7u8; 32];
        let lastmodified = "2026-11-26T08:00:00Z";
        let file = SopsFile {
            data: encrypt_value(b"value", &key, DATA_PATH_AAD),
            sops: Metadata {
                age: vec![AgeStanza {
                    recipient: identity.to_public().to_string(),
                    enc: wrap_data_key(&key, &identity.to_public()).unwrap(),
                }],
                lastmodified: lastmodified.to_string(),
                mac: encrypt_value(
                    mac_of(b"other value").as_bytes(),
                    &key,
                    lastmodified.as_bytes(),
                ),
                unencrypted_suffix: default_unencrypted_suffix(),
                version: SOPS_VERSION.to_string(),
            },
        };
        let text = serde_json::to_string(&file).unwrap();
        assert_eq!(
            decrypt(&text, &[identity]).unwrap_err(),
            SopsError::MacMismatch
        );
    }

    #[test]
    fn empty_values_round_trip() {
        let identity = x25519::Identity::generate();
        let text = encrypt(b"", &[identity.to_public()], "2026-11-26T08:00:00Z").unwrap();
        assert!(decrypt(&text, &[identity]).unwrap().is_empty());
    }
}
