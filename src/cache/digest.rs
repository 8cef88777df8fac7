//! The hashes an entry compares: SHA-256 (the `sha2` crate, with the CPU's SHA instructions
//! where it has them) of texts and of answers, written as 64 hexadecimal digits.

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest as lowercase hexadecimal.
pub fn of_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Builds one digest of several fields: each is fed with its length first, so no two
/// different sequences of fields hash the same bytes.
pub struct Fields(Sha256);

impl Fields {
    /// A digest of a kind named `tag` (two kinds never share a digest).
    pub fn new(tag: &str) -> Fields {
        Fields(Sha256::new()).add(tag.as_bytes())
    }

    #[must_use]
    pub fn add(mut self, bytes: &[u8]) -> Fields {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

/// A digest of a value's `Debug` text: exact for the plain data it is used on (sorted maps,
/// vectors, strings), and the same binary always writes it the same way.
pub fn of_debug(tag: &str, value: &impl std::fmt::Debug) -> String {
    Fields::new(tag)
        .add(format!("{value:?}").as_bytes())
        .finish()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_of_abc_is_the_published_one() {
        // FIPS 180-2, appendix B.1
        assert_eq!(
            of_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn fields_are_separated() {
        let one = |parts: &[&str]| {
            let mut f = Fields::new("t");
            for p in parts {
                f = f.add(p.as_bytes());
            }
            f.finish()
        };
        assert_ne!(one(&["ab", "c"]), one(&["a", "bc"]));
        assert_ne!(one(&["ab"]), Fields::new("u").add(b"ab").finish());
        assert_eq!(one(&["ab", "c"]), one(&["ab", "c"]));
    }
}
