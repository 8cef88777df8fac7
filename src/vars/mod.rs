//! Vars and secrets in clan's layout: sops-encrypted files and the age keys that open them.

pub mod archive;
pub mod facts;
pub mod generate;
pub mod generator;
pub mod keys;
pub mod order;
pub mod runner;
pub mod sops;
pub mod store;
pub mod upload;
