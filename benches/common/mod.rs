//! Helpers the benches share: the repository root and generated clans.

#![allow(dead_code)]

use std::path::PathBuf;

/// The allocator of the `clanc` binary (src/main.rs), so the benches time what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A clan of `machines` machines made by `fixtures/gen-clan`, in a temporary directory.
pub fn generated_clan(machines: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new(repo().join("fixtures/gen-clan"))
        .arg(machines.to_string())
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("fixtures/gen-clan runs (python3)");
    assert!(status.success(), "gen-clan failed");
    dir
}
