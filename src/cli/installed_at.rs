//! `machines.<m>.installedAt` in the clan's `inventory.json`, written as clan's
//! `InventoryStore` writes it after an install: the file's own content (or `{}`) with that one
//! value set to the Unix time in seconds, dumped as Python's `json.dump(..., indent=2)` does
//! (keys in their order, two-space indent, non-ASCII as `\uXXXX`, no final newline).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value whose objects keep their keys in file order (serde_json's map sorts them).
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(text) => s.serialize_str(text),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number JSON cannot hold"))
            }
            fn visit_str<E>(self, text: &str) -> Result<Json, E> {
                Ok(Json::String(text.to_string()))
            }
            fn visit_string<E>(self, text: String) -> Result<Json, E> {
                Ok(Json::String(text))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries: Vec<(String, Json)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Json>()? {
                    // Python's dict: a repeated key keeps its first place and its last value.
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                Ok(Json::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// The object under `key` of `entries`, created empty at the end when missing.
fn object_at<'a>(
    entries: &'a mut Vec<(String, Json)>,
    key: &str,
    path: &str,
) -> Result<&'a mut Vec<(String, Json)>, String> {
    let index = match entries.iter().position(|(k, _)| k == key) {
        Some(index) => index,
        None => {
            entries.push((key.to_string(), Json::Object(Vec::new())));
            entries.len() - 1
        }
    };
    match &mut entries[index].1 {
        Json::Object(inner) => Ok(inner),
        _ => Err(format!("`{path}` in inventory.json is not an object")),
    }
}

/// Python's `ensure_ascii`: every character outside printable ASCII as `\uXXXX` (UTF-16
/// units). serde_json already escapes control characters inside strings, so a raw newline is
/// the indentation's and stays.
fn ensure_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\n' || (' '..='~').contains(&c) {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The new content of inventory.json: `current` (None: the file does not exist) with
/// `machines.<machine>.installedAt = time`. Err: the file is not JSON, or not objects on
/// the way.
pub fn with_installed_at(
    current: Option<&str>,
    machine: &str,
    time: u64,
) -> Result<String, String> {
    let mut root = match current {
        None => Json::Object(Vec::new()),
        Some(text) => serde_json::from_str::<Json>(text)
            .map_err(|e| format!("cannot read inventory.json: {e}"))?,
    };
    let Json::Object(entries) = &mut root else {
        return Err("inventory.json is not a JSON object".to_string());
    };
    let machines = object_at(entries, "machines", "machines")?;
    let entry = object_at(machines, machine, &format!("machines.{machine}"))?;
    let value = Json::Number(time.into());
    match entry.iter_mut().find(|(k, _)| k == "installedAt") {
        Some(slot) => slot.1 = value,
        None => entry.push(("installedAt".to_string(), value)),
    }
    let text = serde_json::to_string_pretty(&root)
        .map_err(|e| format!("cannot write inventory.json: {e}"))?;
    Ok(ensure_ascii(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_becomes_the_one_value() {
        assert_eq!(
            with_installed_at(None, "web", 1_700_000_000).unwrap(),
            "{\n  \"machines\": {\n    \"web\": {\n      \"installedAt\": 1700000000\n    }\n  }\n}"
        );
    }

    #[test]
    fn the_rest_of_the_file_keeps_its_order_and_values() {
        let current = r#"{"meta": {"name": "zoo", "description": "caf\u00e9 ☕"},
            "machines": {"b": {"tags": [], "deploy": {"targetHost": "root@b"}},
                         "a": {"installedAt": 1, "x": 1.5, "y": null, "z": {}}},
            "instances": {}}"#;
        assert_eq!(
            with_installed_at(Some(current), "a", 42).unwrap(),
            "{\n  \"meta\": {\n    \"name\": \"zoo\",\n    \"description\": \"caf\\u00e9 \\u2615\"\n  },\n  \
             \"machines\": {\n    \"b\": {\n      \"tags\": [],\n      \"deploy\": {\n        \
             \"targetHost\": \"root@b\"\n      }\n    },\n    \"a\": {\n      \"installedAt\": 42,\n      \
             \"x\": 1.5,\n      \"y\": null,\n      \"z\": {}\n    }\n  },\n  \"instances\": {}\n}"
        );
        // a character outside the BMP is a surrogate pair, as Python writes it
        assert!(
            with_installed_at(Some(r#"{"k": "😀"}"#), "a", 1)
                .unwrap()
                .contains(r#""k": "\ud83d\ude00""#)
        );
    }

    #[test]
    fn what_is_not_an_object_on_the_way_is_an_error() {
        assert!(with_installed_at(Some("[]"), "a", 1).is_err());
        assert!(with_installed_at(Some(r#"{"machines": []}"#), "a", 1).is_err());
        assert!(with_installed_at(Some(r#"{"machines": {"a": 3}}"#), "a", 1).is_err());
        assert!(with_installed_at(Some("{"), "a", 1).is_err());
    }
}
