//! Files lowered by an earlier run, found by the SHA-256 of their text: [`lower_file`] takes
//! a file's IR from here instead of parsing and lowering the text again when the database
//! holds a pack (see [`crate::db::Db::lowered_before`]). The IR depends only on the text and
//! the stack budget lowering had, so a record found by both is what lowering would give.
//!
//! A pack is bytes, this build's own (the caller keeps it per executable, and does the I/O):
//! a count, then per file the text's digest, the budget, and [`lowered_bytes`]' encoding.
//! Records are decoded when asked for, on the thread that asks.
//!
//! [`lower_file`]: super::lower_file
//! [`lowered_bytes`]: super::lowered_bytes

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest as _, Sha256};

use super::ir::Lowered;
use super::lowered_bytes::{self, push_uint, read_uint as uint};

type Key = ([u8; 32], u64);

/// A file for [`LoweredPack::write`]: its text, the stack budget it is lowered with, and what
/// gives its IR (asked only when the pack written from does not hold it).
pub type ToWrite<'a> = (&'a str, usize, Box<dyn FnOnce() -> Arc<Lowered> + 'a>);

/// Lowered files by text digest and stack budget.
#[derive(Default)]
pub struct LoweredPack {
    bytes: Vec<u8>,
    records: HashMap<Key, Range<usize>>,
    /// The records' keys in the order written.
    order: Vec<Key>,
    /// How many files [`LoweredPack::find`] gave, and how many it did not hold.
    found: AtomicUsize,
    missed: AtomicUsize,
}

impl std::fmt::Debug for LoweredPack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoweredPack({} files)", self.records.len())
    }
}

fn key(text: &str, stack_budget: usize) -> Key {
    (Sha256::digest(text.as_bytes()).into(), stack_budget as u64)
}

impl LoweredPack {
    /// The pack `bytes` hold, when they are whole.
    pub fn read(bytes: Vec<u8>) -> Option<LoweredPack> {
        let mut at = 0;
        let count = uint(&bytes, &mut at)?;
        let mut records = HashMap::new();
        let mut order = Vec::new();
        for _ in 0..count {
            let digest: [u8; 32] = bytes.get(at..at + 32)?.try_into().ok()?;
            at += 32;
            let budget = uint(&bytes, &mut at)?;
            let len = usize::try_from(uint(&bytes, &mut at)?).ok()?;
            let end = at.checked_add(len).filter(|end| *end <= bytes.len())?;
            records.insert((digest, budget), at..end);
            order.push((digest, budget));
            at = end;
        }
        (at == bytes.len()).then_some(LoweredPack {
            bytes,
            records,
            order,
            found: AtomicUsize::new(0),
            missed: AtomicUsize::new(0),
        })
    }

    /// The IR of `text` lowered with `stack_budget`, when the pack holds it (and its record
    /// decodes).
    pub fn find(&self, text: &str, stack_budget: usize) -> Option<Lowered> {
        let range = self.records.get(&key(text, stack_budget)).cloned();
        let lowered = range.and_then(|r| lowered_bytes::decode(self.bytes.get(r)?));
        let count = if lowered.is_some() {
            &self.found
        } else {
            &self.missed
        };
        count.fetch_add(1, Ordering::Relaxed);
        lowered
    }

    /// The IR of the `index`th file written, when it was lowered with `stack_budget` (and its
    /// record decodes): for a caller that knows which text that file had.
    pub fn find_at(&self, index: usize, stack_budget: usize) -> Option<Lowered> {
        let key = self.order.get(index)?;
        if key.1 != stack_budget as u64 {
            return None;
        }
        lowered_bytes::decode(self.bytes.get(self.records.get(key)?.clone())?)
    }

    /// How many files were taken from the pack so far, and how many were asked for that it
    /// does not hold.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.found.load(Ordering::Relaxed),
            self.missed.load(Ordering::Relaxed),
        )
    }

    /// How many files the pack holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Appends to `out` a pack of `files` (text, stack budget, what gives its IR): a record
    /// `reuse` holds is copied from it, the others encoded; a text given twice is written
    /// once. Nothing is appended, and `false` returned, when `reuse` holds exactly these
    /// files (it would be written again as it is).
    pub fn write<'a>(
        files: impl IntoIterator<Item = ToWrite<'a>>,
        reuse: Option<&LoweredPack>,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut seen = std::collections::HashSet::new();
        let files: Vec<_> = (files.into_iter())
            .map(|(text, budget, lowered)| (key(text, budget), lowered))
            .filter(|(key, _)| seen.insert(*key))
            .collect();
        let held = |p: &LoweredPack| p.records.len() == files.len();
        if reuse.is_some_and(|p| held(p) && files.iter().all(|(k, _)| p.records.contains_key(k))) {
            return false;
        }
        push_uint(out, files.len() as u64);
        for (key, lowered) in files {
            let kept = reuse.and_then(|p| p.bytes.get(p.records.get(&key)?.clone()));
            let encoded;
            let bytes = match kept {
                Some(bytes) => bytes,
                None => {
                    encoded = lowered_bytes::encode(&lowered());
                    &encoded[..]
                }
            };
            out.extend_from_slice(&key.0);
            push_uint(out, key.1);
            push_uint(out, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lowered(text: &str) -> Lowered {
        super::super::lower::lower_parsed(crate::syntax::parse(text), 1 << 20)
    }

    #[test]
    fn a_file_is_found_by_its_text_and_budget_only() {
        let (a, b) = ("{ a = 1; }", "x: x + 1");
        let (la, lb) = (Arc::new(lowered(a)), Arc::new(lowered(b)));
        let given = |text, l: &Arc<Lowered>| -> ToWrite<'_> {
            let l = Arc::clone(l);
            (text, 1 << 20, Box::new(move || l))
        };
        let mut bytes = Vec::new();
        assert!(LoweredPack::write(
            [given(a, &la), given(b, &lb)],
            None,
            &mut bytes
        ));
        let pack = LoweredPack::read(bytes.clone()).expect("reads");
        assert_eq!(pack.len(), 2);
        assert_eq!(
            format!("{:?}", pack.find(a, 1 << 20)),
            format!("{:?}", Some(&*la))
        );
        assert!(pack.find(b, 1 << 20).is_some());
        assert!(pack.find("{ a = 2; }", 1 << 20).is_none());
        assert!(pack.find(a, 1 << 19).is_none());
        assert_eq!(pack.counts(), (2, 2));
        // copied from a pack, nothing asked to lower: the same files are not written again,
        // and a part of them is written as it was
        let unasked = |text| -> ToWrite<'_> { (text, 1 << 20, Box::new(|| unreachable!())) };
        let mut again = Vec::new();
        assert!(!LoweredPack::write(
            [unasked(b), unasked(a)],
            Some(&pack),
            &mut again
        ));
        assert!(again.is_empty());
        assert!(LoweredPack::write([unasked(a)], Some(&pack), &mut again));
        let part = LoweredPack::read(again).expect("reads");
        assert_eq!(part.len(), 1);
        assert!(part.find(a, 1 << 20).is_some());
        // cut anywhere, no pack
        for cut in 0..bytes.len() {
            assert!(LoweredPack::read(bytes[..cut].to_vec()).is_none(), "{cut}");
        }
    }
}
