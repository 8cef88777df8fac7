//! Vars and secrets in clan's layout: sops-encrypted files and the age keys that open them.

pub mod keys;
pub mod sops;
pub mod store;
