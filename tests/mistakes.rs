//! Every clan under `fixtures/mistakes/` holds mistakes (or none: `silent-*`) and an
//! `expect.json` saying which diagnostics `clanc check` must report: code, severity, file,
//! line, column and a part of the message. Each expected diagnostic must be there, and
//! nothing else may be (an extra diagnostic is a false positive). The clean clans of
//! `fixtures/shapes/` and the seed fleet must report nothing at all.

mod common;

use std::path::Path;

use serde_json::Value;

fn check_json(dir: &Path) -> Value {
    let out = common::clanc(&[
        "check",
        "--no-cache",
        "--format",
        "json",
        &dir.to_string_lossy(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{}: clanc printed no JSON ({e}): {stdout}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn describe(d: &Value) -> String {
    format!(
        "{} {} {}:{}:{} {}",
        d["code"].as_str().unwrap_or("?"),
        d["severity"].as_str().unwrap_or("?"),
        d["file"].as_str().unwrap_or("?"),
        d["line"],
        d["column"],
        d["message"]
            .as_str()
            .unwrap_or(d["message_contains"].as_str().unwrap_or("")),
    )
}

fn matches(expected: &Value, got: &Value) -> bool {
    ["code", "severity", "file", "line", "column"]
        .iter()
        .all(|k| expected[k] == got[k])
        && got["message"]
            .as_str()
            .unwrap_or("")
            .contains(expected["message_contains"].as_str().unwrap_or(""))
}

#[test]
fn every_mistake_is_reported_where_it_is_and_nothing_else() {
    let root = common::repo().join("fixtures/mistakes");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures/mistakes exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expect.json").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 40,
        "expected the mistake fixtures, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let expect: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expect.json")).expect("expect.json reads"),
        )
        .expect("expect.json is JSON");
        let got = check_json(dir);
        let got: Vec<Value> = got["diagnostics"].as_array().cloned().unwrap_or_default();
        let expected: Vec<Value> = expect["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut problems = Vec::new();
        for e in &expected {
            if !got.iter().any(|g| matches(e, g)) {
                problems.push(format!("  missing: {}", describe(e)));
            }
        }
        for g in &got {
            if !expected.iter().any(|e| matches(e, g)) {
                problems.push(format!("  unexpected: {}", describe(g)));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{name}:\n{}", problems.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} mistake fixtures differ:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn clean_clans_report_nothing() {
    let repo = common::repo();
    let mut dirs = vec![repo.join("fixtures/seed-fleet")];
    let mut shapes: Vec<_> = std::fs::read_dir(repo.join("fixtures/shapes"))
        .expect("fixtures/shapes exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    shapes.sort();
    assert_eq!(shapes.len(), 10);
    dirs.extend(shapes);
    let mut failures = Vec::new();
    for dir in &dirs {
        let got = check_json(dir);
        for d in got["diagnostics"].as_array().into_iter().flatten() {
            failures.push(format!("{}: {}", dir.display(), describe(d)));
        }
    }
    assert!(
        failures.is_empty(),
        "clean clans report:\n{}",
        failures.join("\n")
    );
}
