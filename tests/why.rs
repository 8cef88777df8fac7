//! `clanc inventory --why MACHINE` goldens: every `tests/why/<case>/` holds a clan (`input/`,
//! or `fixture` naming one relative to the repository), `machine` (the name to explain) and the
//! expected output as text (`expected.text`) and as JSON (`expected.json`): stdout, then stderr
//! and the exit status. Every location in them was
//! checked by hand against the clan's files. A mismatch fails with a diff; `UPDATE_GOLDEN=1`
//! rewrites the expectations.

mod common;

use std::path::PathBuf;

fn run(dir: &str, machine: &str, json: bool) -> String {
    let mut args = vec!["inventory", "--why", machine];
    if json {
        args.push("--json");
    }
    args.push(dir);
    let out = common::clanc(&args);
    format!(
        "{}--- stderr ---\n{}--- exit status: {} ---\n",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status
            .code()
            .map_or("signal".to_string(), |c| c.to_string())
    )
}

#[test]
fn why_matches_its_goldens() {
    let repo = common::repo();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo.join("tests/why"))
        .expect("tests/why exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 8,
        "expected the --why cases, found {cases:?}"
    );
    let mut failures = Vec::new();
    for case in &cases {
        let machine = std::fs::read_to_string(case.join("machine"))
            .unwrap_or_else(|_| panic!("{}: no `machine`", case.display()));
        let machine = machine.trim();
        let dir = match std::fs::read_to_string(case.join("fixture")) {
            Ok(fixture) => repo.join(fixture.trim()),
            Err(_) => case.join("input"),
        };
        let dir = dir.to_string_lossy().into_owned();
        for (json, file) in [(false, "expected.text"), (true, "expected.json")] {
            let got = run(&dir, machine, json);
            let path = case.join(file);
            if update {
                std::fs::write(&path, &got).expect("golden writes");
                continue;
            }
            let expected = std::fs::read_to_string(&path).unwrap_or_default();
            if expected != got {
                let diff = similar::TextDiff::from_lines(&expected, &got)
                    .unified_diff()
                    .header("expected", "got")
                    .to_string();
                failures.push(format!("{}:\n{diff}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} --why outputs differ (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
