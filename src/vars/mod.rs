//! Vars and secrets in clan's layout: sops-encrypted files and the age keys that open them.

pub mod archive;
pub mod facts;
pub mod keys;
pub mod sops;
pub mod store;
pub mod transaction;
pub mod upload;

/// A secret's bytes in memory, zeroized when dropped.
pub type SecretBytes = zeroize::Zeroizing<Vec<u8>>;
