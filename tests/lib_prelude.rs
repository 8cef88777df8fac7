//! clanc's embedded model of nixpkgs' `lib` (`src/modules/known/lib.nix`) and of import-tree
//! (`src/modules/known/import-tree.nix`). Every `tests/lib/*.nix` evaluates to a list of
//! `{ name; got; expected; }`, where `got` uses the model and `expected` is the value nixpkgs
//! documents. Each file is evaluated by clanc (`clanc eval --strict --json FILE`) and by the
//! real Nix (`nix-instantiate --eval --strict --json FILE`): every entry must have
//! `got == expected`, and both tools must print the same JSON. The Nix half is a test of its
//! own (`lib_model_matches_nix`): without Nix it fails; leave it out with `--skip`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/lib exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "nix"))
        .collect();
    files.sort();
    files
}

fn clanc(repo: &Path, file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["eval", "--color", "never", "--strict", "--json"])
        .arg(file)
        .current_dir(repo)
        .env("NIX_PATH", "")
        .output()
        .expect("clanc runs")
}

fn nix(repo: &Path, home: &Path, file: &Path) -> Output {
    Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(file)
        .current_dir(repo)
        .env("NIX_CONFIG", "substituters =\nexperimental-features =\n")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("NIX_PATH", "")
        .output()
        .expect(
            "nix-instantiate runs (Debian: apt-get install nix-bin, which scripts/test installs; \
             without Nix, leave this test out with `cargo test -- --skip lib_model_matches_nix`)",
        )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn first_lines(s: &str, n: usize) -> String {
    s.lines().take(n).collect::<Vec<_>>().join("\n      ")
}

/// The failing entries of one evaluation's output (`tool` names the evaluator), or why the
/// output is not a list of entries.
fn check_entries(tool: &str, file: &str, stdout: &[u8], failures: &mut Vec<String>) -> usize {
    let value: Value = match serde_json::from_slice(stdout) {
        Ok(v) => v,
        Err(e) => {
            failures.push(format!("{file} ({tool}): output is not JSON: {e}"));
            return 0;
        }
    };
    let Some(entries) = value.as_array() else {
        failures.push(format!("{file} ({tool}): the file must evaluate to a list"));
        return 0;
    };
    let mut names = std::collections::HashSet::new();
    for entry in entries {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("<no name>");
        if !names.insert(name.to_string()) {
            failures.push(format!("{file} ({tool}): duplicate entry name {name:?}"));
        }
        match (entry.get("got"), entry.get("expected")) {
            (Some(got), Some(expected)) if got == expected => {}
            (Some(got), Some(expected)) => failures.push(format!(
                "{file} ({tool}) :: {name}\n      got:      {got}\n      expected: {expected}"
            )),
            _ => failures.push(format!(
                "{file} ({tool}) :: {name}: an entry needs `got` and `expected`"
            )),
        }
    }
    entries.len()
}

/// clanc's model gives what nixpkgs documents.
#[test]
fn lib_model_matches_nixpkgs() {
    check_lib_files(false);
}

/// The same files through the real Nix: the expectations hold there too, and both print the
/// same JSON.
#[test]
fn lib_model_matches_nix() {
    check_lib_files(true);
}

fn check_lib_files(with_nix: bool) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = files(&repo.join("tests/lib"));
    assert!(files.len() >= 6, "tests/lib has {} files", files.len());
    let home = tempfile::tempdir().expect("temp dir");

    let mut failures = Vec::new();
    let mut total = 0;
    for file in &files {
        let rel = file.strip_prefix(repo).unwrap_or(file);
        let shown = rel.display().to_string();
        let c = clanc(repo, rel);
        if !c.status.success() {
            failures.push(format!(
                "{shown} (clanc) failed (exit {:?}):\n      {}",
                c.status.code(),
                first_lines(&text(&c.stderr), 12)
            ));
        } else {
            total += check_entries("clanc", &shown, &c.stdout, &mut failures);
        }
        if !with_nix {
            continue;
        }
        let n = nix(repo, home.path(), rel);
        if !n.status.success() {
            failures.push(format!(
                "{shown} (nix) failed (exit {:?}):\n      {}",
                n.status.code(),
                first_lines(&text(&n.stderr), 12)
            ));
            continue;
        }
        check_entries("nix", &shown, &n.stdout, &mut failures);
        if c.status.success() && c.stdout != n.stdout {
            failures.push(format!(
                "{shown}: clanc and Nix print different JSON\n      nix:   {}\n      clanc: {}",
                text(&n.stdout).trim(),
                text(&c.stdout).trim()
            ));
        }
    }
    for f in &failures {
        println!("--- {f}");
    }
    println!(
        "lib prelude: {} files, {} entries, {} failures",
        files.len(),
        total,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures in tests/lib",
        failures.len()
    );
}
