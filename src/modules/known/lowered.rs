//! clanc's own modules lowered ahead of time. Every check reads them, and parsing and lowering
//! their 77 KB of Nix was most of a small clan's check (about 52 M instructions, some 10 ms;
//! decoding is a small part of that). `lowered.bin` is a [`LoweredPack`] of them, in the order
//! of [`super::FILES`], with the default lowering budget, after a header: the [`FINGERPRINT`]
//! of the source of the code that parses, lowers and encodes ([`CODE`]).
//!
//! A module is taken from the pack only when its text is the one built in (compared, not
//! digested: hashing the texts and the code cost more than decoding). A change of the
//! lowering or its encoding makes the pack stale: its fingerprint then differs and it is not
//! used, and `known_modules_are_lowered_ahead_as_they_would_be`
//! (below) fails until the file is written again with `UPDATE_KNOWN_LOWERED=1 cargo test
//! --lib known_modules_are_lowered_ahead`. That test compares the pack with a fresh lowering
//! byte for byte, so a change the fingerprint does not see (a file outside [`CODE`]) is
//! caught there.

use std::sync::OnceLock;

use crate::eval::{Lowered, LoweredPack};

/// The source of the parsing, lowering and encoding the pack holds the result of.
const CODE: &[&str] = &[
    include_str!("../../eval/lower.rs"),
    include_str!("../../eval/lower/paths.rs"),
    include_str!("../../eval/ir.rs"),
    include_str!("../../eval/interned.rs"),
    include_str!("../../eval/strings.rs"),
    include_str!("../../eval/lowered_bytes.rs"),
    include_str!("../../eval/lowered_pack.rs"),
    include_str!("../../eval/builtins/mod.rs"),
    include_str!("../../syntax/mod.rs"),
    include_str!("../../syntax/cost_bound.rs"),
    include_str!("../../syntax/syntax_error.rs"),
    include_str!("../../syntax/validate.rs"),
];

const FINGERPRINT_LEN: usize = 8;

const PACK: &[u8] = include_bytes!("lowered.bin");

/// FNV-1a (64 bits) of [`CODE`], each source after its length, computed when clanc is
/// compiled: it tells a stale pack from a fresh one (an accident, not an adversary, could make
/// two agree).
const FINGERPRINT: [u8; FINGERPRINT_LEN] = {
    const fn add(mut hash: u64, bytes: &[u8]) -> u64 {
        let mut i = 0;
        while i < bytes.len() {
            hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        hash
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < CODE.len() {
        hash = add(hash, &(CODE[i].len() as u64).to_le_bytes());
        hash = add(hash, CODE[i].as_bytes());
        i += 1;
    }
    hash.to_le_bytes()
};

/// The IR of clanc's module at `path` (under [`super::DIR`]) lowered with `stack_budget`, when
/// `text` is the module's built-in text and the pack is this build's.
pub fn find(path: &str, text: &str, stack_budget: usize) -> Option<Lowered> {
    let name = path.strip_prefix(super::DIR)?.strip_prefix('/')?;
    let index = super::FILES.iter().position(|(n, _)| *n == name)?;
    if super::FILES[index].1 != text {
        return None;
    }
    pack()?.find_at(index, stack_budget)
}

/// The modules lowered ahead of time, unless the pack is stale or damaged (then they are
/// lowered as any file).
fn pack() -> Option<&'static LoweredPack> {
    static PACK_READ: OnceLock<Option<LoweredPack>> = OnceLock::new();
    PACK_READ.get_or_init(|| read(PACK)).as_ref()
}

/// The pack `bytes` hold when their fingerprint is this build's and they are whole.
fn read(bytes: &[u8]) -> Option<LoweredPack> {
    let (header, body) = bytes.split_at_checked(FINGERPRINT_LEN)?;
    if header != FINGERPRINT {
        return None;
    }
    LoweredPack::read(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes `lowered.bin` should hold for this build: the fingerprint, then every module
    /// lowered with the default budget.
    fn fresh() -> Vec<u8> {
        let budget = crate::eval::Limits::DEFAULT_LOWER_BUDGET;
        let files = crate::modules::known::FILES.iter().map(|(_, text)| {
            let lower = move || {
                let parse = crate::syntax::parse(text);
                std::sync::Arc::new(crate::eval::lower_parsed(parse, budget))
            };
            let lower: Box<dyn FnOnce() -> std::sync::Arc<crate::eval::Lowered>> = Box::new(lower);
            (*text, budget, lower)
        });
        let mut bytes = FINGERPRINT.to_vec();
        LoweredPack::write(files, None, &mut bytes);
        bytes
    }

    #[test]
    fn known_modules_are_lowered_ahead_as_they_would_be() {
        let fresh = fresh();
        assert_eq!(
            fresh,
            self::fresh(),
            "lowering the modules gives the same bytes"
        );
        if std::env::var_os("UPDATE_KNOWN_LOWERED").is_some_and(|v| v == "1") {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/modules/known/lowered.bin");
            std::fs::write(path, &fresh).expect("writes src/modules/known/lowered.bin");
            return;
        }
        assert!(
            PACK == fresh.as_slice(),
            "src/modules/known/lowered.bin is stale (clanc's modules, or how they are \
             lowered or encoded, changed): write it again with \
             `UPDATE_KNOWN_LOWERED=1 cargo test --lib known_modules_are_lowered_ahead`"
        );
        let pack = pack().expect("the pack is read");
        // another fingerprint (the code changed), or cut short: not used
        let mut stale = PACK.to_vec();
        stale[0] ^= 1;
        assert!(read(&stale).is_none());
        assert!(read(&PACK[..PACK.len() - 1]).is_none());
        assert!(read(&PACK[..FINGERPRINT_LEN - 1]).is_none());
        assert_eq!(pack.len(), crate::modules::known::FILES.len());
        let budget = crate::eval::Limits::DEFAULT_LOWER_BUDGET;
        for (name, text) in crate::modules::known::FILES {
            let path = crate::modules::known::path(name);
            let taken = find(&path, text, budget).expect("every module is in the pack");
            let lowered = crate::eval::lower_parsed(crate::syntax::parse(text), budget);
            assert_eq!(format!("{taken:?}"), format!("{lowered:?}"), "{name}");
            // found by its text too, as the on-disk cache's files are
            assert!(pack.find(text, budget).is_some(), "{name}");
            // another text, another budget, another path: not taken
            assert!(find(&path, &format!("{text} "), budget).is_none(), "{name}");
            assert!(find(&path, text, budget / 2).is_none(), "{name}");
            assert!(find(&format!("/elsewhere/{name}"), text, budget).is_none());
        }
    }
}
