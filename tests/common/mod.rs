//! Helpers shared by the integration tests: running clanc and the real Nix, copying fixture
//! clans, comparing analyses.

#![allow(dead_code)]

pub mod cases;
pub mod sweep;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn clanc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .output()
        .expect("clanc runs")
}

/// The real `nix-instantiate`, offline. The test command installs Debian's nix-bin; a
/// missing binary is a failed test, not a skipped one.
pub fn nix_instantiate() -> Command {
    let mut cmd = Command::new("nix-instantiate");
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nexperimental-features = nix-command flakes",
    );
    cmd
}

/// Whether real Nix accepts the syntax of `file`.
pub fn nix_parses(file: &Path) -> bool {
    let out = nix_instantiate()
        .arg("--parse")
        .arg(file)
        .output()
        .expect("nix-instantiate is installed (scripts/test installs nix-bin)");
    out.status.success()
}

/// Every `.nix` file below `dir` (following no links).
pub fn nix_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "nix") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// What every secret of the seed fleet decrypts to (`fixtures/seed-fleet-plaintexts.json`).
pub fn read_plaintexts() -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(repo().join("fixtures/seed-fleet-plaintexts.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["files"].as_object().cloned().unwrap_or_default()
}

/// `cp -a` (fixture clans hold symlinks: vars recipients).
pub fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Every diagnostic of an analysis with its whole primary span and its labels' spans, sorted:
/// what must not differ between two analyses of the same text.
pub fn placed(analysis: &clanc::analysis::Analysis) -> Vec<String> {
    let mut all: Vec<String> = (analysis.diagnostics.iter())
        .map(|d| {
            let labels: Vec<_> = d.labels.iter().map(|l| format!("{:?}", l.span)).collect();
            format!("{} {:?} {}", d.code, d.span, labels.join(" "))
        })
        .collect();
    all.sort();
    all
}

/// Compares `actual` with the golden file at `path`: `None` when they agree, or when `update`
/// (`UPDATE_GOLDEN=1`) rewrote the file; otherwise the failure, naming the file, with a
/// unified diff.
pub fn golden_differs(path: &Path, actual: &str, update: bool) -> Option<String> {
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return None;
    }
    if update {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the golden's folder");
        }
        std::fs::write(path, actual).expect("write the golden");
        return None;
    }
    let diff = similar::TextDiff::from_lines(&expected, actual)
        .unified_diff()
        .header("expected", "actual")
        .to_string();
    Some(format!("{}:\n{diff}", path.display()))
}
