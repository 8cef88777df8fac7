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
}
