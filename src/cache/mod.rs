//! The on-disk cache of `clanc check` (as ruff keeps one): one entry per clan directory,
//! keyed by the content of what a check read, so a check after no change, or after a change
//! of files the evaluation never read, costs reading and hashing the clan plus checking the
//! changed files' syntax. This module does disk I/O (beside `loader`, `files` and `exec`):
//! it reads and writes its entries, and reads what the last evaluation read to see whether
//! it still holds.
//!
//! Correctness comes first: a cached answer is exactly what a fresh check prints, and when
//! in doubt (any question answered differently, a damaged entry, another clanc) the whole
//! check runs. An entry keeps diagnostics, paths and digests, no file text and no secret;
//! beside it the clan's Nix files as lowered (`lowered.rs`: the code's names and literals,
//! as the IR holds them; nothing of the files that are not Nix).

mod code_edit;
mod code_kept;
mod digest;
mod entry;
mod identity;
mod lowered;
mod observed;
mod outcome;
mod run;
mod snapshot;
mod stated_tree;
mod store;
mod unchanged;

pub use entry::Summary;
pub use lowered::kept_for as lowered_files_kept_for;
pub use outcome::{Outcome, Stored};
pub use run::{Checked, check};
pub use store::{MAX_ENTRY_BYTES, Store};
