//! Golden tests: every `tests/golden/<case>/` holds an `input/` clan (a case without one checks
//! an empty directory), optional `args` (extra arguments, one per line) and the expected output
//! of `clanc check` per format: `expected.human`, `expected.json`, `expected.github` (stdout,
//! then stderr and the exit status). A mismatch fails with a diff; `UPDATE_GOLDEN=1` rewrites
//! the expectations.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const FORMATS: [&str; 3] = ["human", "json", "github"];

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "expected at least 10 golden cases");

    let mut failures = Vec::new();
    for case in &cases {
        let empty = tempfile::tempdir().expect("temp dir");
        let input = if case.join("input").exists() {
            case.join("input")
        } else {
            empty.path().to_path_buf()
        };
        let extra: Vec<String> = std::fs::read_to_string(case.join("args"))
            .map(|a| a.lines().map(str::to_string).collect())
            .unwrap_or_default();
        for format in FORMATS {
            let actual = run_check(case, &input, format, &extra);
            let expected_path = case.join(format!("expected.{format}"));
            failures.extend(common::golden_differs(&expected_path, &actual, update));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden expectation(s) differ (UPDATE_GOLDEN=1 to accept):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs `clanc check` from the case directory, so paths in messages are relative and stable.
fn run_check(case: &Path, input: &Path, format: &str, extra: &[String]) -> String {
    let input_arg = input.strip_prefix(case).unwrap_or(input);
    let output = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .current_dir(case)
        .arg("check")
        .arg(input_arg)
        .args(["--format", format, "--color", "never", "--no-timing"])
        // without the cache: `tests/cache.rs` runs these cases with it
        .arg("--no-cache")
        .args(extra)
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .output()
        .expect("clanc runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // A temporary directory's name changes every run.
    let stderr = String::from_utf8_lossy(&output.stderr)
        .replace(&input.display().to_string(), "<empty-dir>");
    let mut text = stdout.into_owned();
    if !stderr.is_empty() {
        text.push_str("--- stderr ---\n");
        text.push_str(&stderr);
    }
    text.push_str(&format!(
        "--- exit status: {} ---\n",
        output
            .status
            .code()
            .map_or("signal".to_string(), |c| c.to_string())
    ));
    text
}
