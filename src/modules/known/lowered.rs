//! clanc's own modules lowered ahead of time. Every check reads them, and parsing and lowering
//! their 77 KB of Nix was most of a small clan's check (about 52 M instructions, some 10 ms;
//! decoding is a small part of that). `lowered.bin` is a [`LoweredPack`] of them with the
//! default lowering budget, after a header: [`FINGERPRINT_LEN`] bytes of the SHA-256 of the
//! source of the code that lowers and encodes ([`CODE`]).
//!
//! The pack finds a file by the SHA-256 of its text, so an edited module is lowered as
//! always. A change of the lowering or its encoding makes the pack stale: its fingerprint
//! then differs and it is not used, and `known_modules_are_lowered_ahead_as_they_would_be`
//! (below) fails until the file is written again with `UPDATE_KNOWN_LOWERED=1 cargo test
//! --lib known_modules_are_lowered_ahead`. That test compares the pack with a fresh lowering
//! byte for byte, so a change the fingerprint does not see (a file outside [`CODE`]) is
//! caught there.

use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

use crate::eval::LoweredPack;

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

const FINGERPRINT_LEN: usize = 32;

const PACK: &[u8] = include_bytes!("lowered.bin");

fn fingerprint() -> [u8; FINGERPRINT_LEN] {
    let mut digest = Sha256::new();
    for source in CODE {
        digest.update((source.len() as u64).to_le_bytes());
        digest.update(source.as_bytes());
    }
    digest.finalize().into()
}

/// The modules lowered ahead of time, unless the pack is stale or damaged (then they are
/// lowered as any file).
pub fn pack() -> Option<&'static LoweredPack> {
    static PACK_READ: OnceLock<Option<LoweredPack>> = OnceLock::new();
    PACK_READ.get_or_init(|| read(PACK)).as_ref()
}

/// The pack `bytes` hold when their fingerprint is this build's and they are whole.
fn read(bytes: &[u8]) -> Option<LoweredPack> {
    let (header, body) = bytes.split_at_checked(FINGERPRINT_LEN)?;
    if header != fingerprint() {
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
        let mut bytes = fingerprint().to_vec();
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
            let taken = pack
                .find(text, budget)
                .expect("every module is in the pack");
            let lowered = crate::eval::lower_parsed(crate::syntax::parse(text), budget);
            assert_eq!(format!("{taken:?}"), format!("{lowered:?}"), "{name}");
        }
    }
}
