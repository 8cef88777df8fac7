//! Finds where a key or an array element sits in a JSON text (`inventory.json`): the
//! evaluator's `fromJSON` keeps no positions, but diagnostics need them.

use rnix::{TextRange, TextSize};

enum Json {
    Object(Vec<(String, TextRange, Json)>),
    Array(Vec<(TextRange, Json)>),
    Scalar,
}

/// The range of the last key of `keys` (with its quotes), following objects from the root.
pub fn locate_key(text: &str, keys: &[&str]) -> Option<TextRange> {
    let (root, _) = Parser::new(text).value(0)?;
    let (last, parents) = keys.split_last()?;
    let parent = descend(&root, parents)?;
    match parent {
        Json::Object(entries) => entries
            .iter()
            .find(|(k, _, _)| k == last)
            .map(|(_, r, _)| *r),
        _ => None,
    }
}

/// The range of element `index` of the array at `keys`.
pub fn locate_index(text: &str, keys: &[&str], index: usize) -> Option<TextRange> {
    let (root, _) = Parser::new(text).value(0)?;
    match descend(&root, keys)? {
        Json::Array(items) => items.get(index).map(|(r, _)| *r),
        _ => None,
    }
}

/// Keys written twice in one object, as (path of the object, key, first range, repeated
/// range), in document order. Nix's `fromJSON` keeps the last value.
pub fn duplicate_keys(text: &str) -> Vec<(Vec<String>, String, TextRange, TextRange)> {
    let mut out = Vec::new();
    if let Some((root, _)) = Parser::new(text).value(0) {
        let mut path = Vec::new();
        find_duplicates(&root, &mut path, &mut out);
    }
    out
}

fn find_duplicates(
    node: &Json,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, String, TextRange, TextRange)>,
) {
    match node {
        Json::Object(entries) => {
            for (i, (key, range, value)) in entries.iter().enumerate() {
                if let Some((_, first, _)) = entries[..i].iter().find(|(k, _, _)| k == key) {
                    out.push((path.clone(), key.clone(), *first, *range));
                }
                path.push(key.clone());
                find_duplicates(value, path, out);
                path.pop();
            }
        }
        Json::Array(items) => {
            for (_, item) in items {
                find_duplicates(item, path, out);
            }
        }
        Json::Scalar => {}
    }
}

/// The range of the key deepest along a dotted option path (`machines.a.b.tags`, where a
/// name may itself hold dots: `machines."a.b"` is written `machines.a.b`), following objects
/// from the root and taking the last of repeated keys (the one Nix keeps). `None` when not
/// even the first name is there.
pub fn locate_dotted(text: &str, dotted: &str) -> Option<TextRange> {
    let (root, _) = Parser::new(text).value(0)?;
    let mut node = &root;
    let mut rest = dotted;
    let mut found = None;
    while !rest.is_empty() {
        let Json::Object(entries) = node else { break };
        // The longest key that the rest starts with, as a whole name (of equals, the last).
        let next = entries
            .iter()
            .filter(|(k, _, _)| {
                rest == k.as_str()
                    || (rest.starts_with(k.as_str()) && rest[k.len()..].starts_with('.'))
            })
            .max_by_key(|(k, _, _)| k.len());
        let Some((key, range, value)) = next else {
            break;
        };
        found = Some(*range);
        node = value;
        rest = rest[key.len()..].strip_prefix('.').unwrap_or("");
    }
    found
}

fn descend<'j>(mut node: &'j Json, keys: &[&str]) -> Option<&'j Json> {
    for key in keys {
        node = match node {
            Json::Object(entries) => entries
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, _, v)| v)?,
            _ => return None,
        };
    }
    Some(node)
}

struct Parser<'t> {
    text: &'t [u8],
    at: usize,
}

const MAX_DEPTH: usize = 256;

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Parser<'t> {
        Parser {
            text: text.as_bytes(),
            at: 0,
        }
    }

    fn skip_ws(&mut self) {
        while self.at < self.text.len() && self.text[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn range(start: usize, end: usize) -> TextRange {
        TextRange::new(TextSize::from(start as u32), TextSize::from(end as u32))
    }

    /// A value and its range.
    fn value(&mut self, depth: usize) -> Option<(Json, TextRange)> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        let start = self.at;
        let json = match *self.text.get(self.at)? {
            b'{' => {
                self.at += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    if self.text.get(self.at) == Some(&b'}') {
                        self.at += 1;
                        break;
                    }
                    let key_start = self.at;
                    let key = self.string()?;
                    let key_range = Self::range(key_start, self.at);
                    self.skip_ws();
                    if self.text.get(self.at) != Some(&b':') {
                        return None;
                    }
                    self.at += 1;
                    let (v, _) = self.value(depth + 1)?;
                    entries.push((key, key_range, v));
                    self.skip_ws();
                    match self.text.get(self.at)? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                Json::Object(entries)
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.text.get(self.at) == Some(&b']') {
                        self.at += 1;
                        break;
                    }
                    let (v, r) = self.value(depth + 1)?;
                    items.push((r, v));
                    self.skip_ws();
                    match self.text.get(self.at)? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                Json::Array(items)
            }
            b'"' => {
                self.string()?;
                Json::Scalar
            }
            _ => {
                while self.at < self.text.len()
                    && !matches!(self.text[self.at], b',' | b'}' | b']')
                    && !self.text[self.at].is_ascii_whitespace()
                {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
                Json::Scalar
            }
        };
        Some((json, Self::range(start, self.at)))
    }

    fn string(&mut self) -> Option<String> {
        if self.text.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        let start = self.at;
        while *self.text.get(self.at)? != b'"' {
            if self.text[self.at] == b'\\' {
                self.at += 1;
            }
            self.at += 1;
        }
        let raw = std::str::from_utf8(&self.text[start..self.at]).ok()?;
        self.at += 1;
        // Keys in inventory.json are plain names; escapes are read back approximately.
        Some(raw.replace("\\\"", "\"").replace("\\\\", "\\"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_elements() {
        let text = r#"{ "machines": { "a": { "tags": ["x", "y"] } }, "b": 1 }"#;
        let r = locate_key(text, &["machines", "a"]).unwrap();
        assert_eq!(&text[std::ops::Range::<usize>::from(r)], "\"a\"");
        let r = locate_index(text, &["machines", "a", "tags"], 1).unwrap();
        assert_eq!(&text[std::ops::Range::<usize>::from(r)], "\"y\"");
        assert!(locate_key(text, &["machines", "zz"]).is_none());
        assert!(locate_key("{ broken", &["a"]).is_none());
    }

    #[test]
    fn finds_repeated_keys_and_dotted_paths() {
        let text = r#"{ "machines": { "a.b": { "tags": 1 }, "a": {}, "a": { "x": 2 } } }"#;
        let dups = duplicate_keys(text);
        assert_eq!(dups.len(), 1);
        let (path, key, first, again) = &dups[0];
        assert_eq!(
            (path.as_slice(), key.as_str()),
            (&["machines".to_string()][..], "a")
        );
        assert!(first.start() < again.start());
        let at = |r: TextRange| &text[std::ops::Range::<usize>::from(r)];
        assert_eq!(
            at(locate_dotted(text, "machines.a.b.tags").unwrap()),
            "\"tags\""
        );
        let x = locate_dotted(text, "machines.a.x").unwrap();
        assert_eq!(at(x), "\"x\"");
        // a name not there: the deepest key that is
        let r = locate_dotted(text, "machines.zz").unwrap();
        assert_eq!(at(r), "\"machines\"");
        assert!(locate_dotted(text, "meta").is_none());
    }
}
