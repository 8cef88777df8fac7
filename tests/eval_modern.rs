//! The language of current Nix where Nix 2.8, the differential suite's oracle, does not
//! have it: pipe operators, attribute sets merged at every depth, dynamic attributes of merged
//! sets. No Nix here can check these, so each case under `tests/eval/modern/*.cases` states
//! its expected result and cites the release note, manual section or upstream test that
//! defines it:
//!
//! ```text
//! #== name
//! #source: where the behaviour is defined
//! <expression lines>
//! #=> <the JSON `nix-instantiate --eval --strict --json` prints>
//! ```
//!
//! or `#=> error CODE: text` for an evaluation that must fail with that diagnostic code and a
//! message containing the text. Each case runs through `clanc eval --strict --json --expr`
//! from `tests/eval/` (as the differential suite does). Other lines starting with `#` are
//! comments. A case without a source or an expectation, or a file with no case, fails the
//! suite, as does any mismatch.

mod common;

use std::path::Path;
use std::process::Command;

struct Case {
    file: String,
    name: String,
    sources: Vec<String>,
    expr: String,
    expected: Option<String>,
}

enum Expected<'a> {
    Json(&'a str),
    Error { code: &'a str, text: &'a str },
}

fn expected(text: &str) -> Expected<'_> {
    match text.strip_prefix("error ") {
        Some(rest) => {
            let (code, text) = rest.split_once(':').unwrap_or((rest, ""));
            Expected::Error {
                code: code.trim(),
                text: text.trim(),
            }
        }
        None => Expected::Json(text),
    }
}

fn cases(dir: &Path) -> Vec<Case> {
    let files = common::cases::case_files(dir);
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let mut out = Vec::new();
    for file in files {
        let file_name = file.name;
        assert!(!file.cases.is_empty(), "{file_name} has no case");
        for raw in file.cases {
            let mut case = Case {
                file: file_name.clone(),
                name: raw.header,
                sources: Vec::new(),
                expr: String::new(),
                expected: None,
            };
            for line in &raw.lines {
                if let Some(source) = line.strip_prefix("#source:") {
                    case.sources.push(source.trim().to_string());
                } else if let Some(result) = line.strip_prefix("#=>") {
                    assert!(
                        case.expected.is_none(),
                        "{file_name} :: {}: two expectations",
                        case.name
                    );
                    case.expected = Some(result.trim().to_string());
                } else if !line.starts_with('#') {
                    case.expr.push_str(line);
                    case.expr.push('\n');
                }
            }
            out.push(case);
        }
    }
    out
}

fn run(dir: &Path, case: &Case) -> Option<String> {
    let fail = |why: String| Some(format!("--- {} :: {}\n  {why}", case.file, case.name));
    if case.sources.iter().all(|s| s.is_empty()) {
        return fail("no `#source:` line says what defines the expected result".into());
    }
    let Some(expected_text) = case.expected.as_deref() else {
        return fail("no `#=>` line states the expected result".into());
    };
    if case.expr.trim().is_empty() {
        return fail("no expression".into());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["eval", "--color", "never", "--strict", "--json", "--expr"])
        .arg(&case.expr)
        .current_dir(dir)
        .env("NIX_PATH", "")
        .output()
        .expect("clanc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = format!(
        "expr: {}\n  expected: {expected_text}\n  clanc (exit {:?}): {stdout}\n      {}",
        case.expr.trim(),
        out.status.code(),
        stderr.lines().take(6).collect::<Vec<_>>().join("\n      ")
    );
    let agrees = match expected(expected_text) {
        Expected::Json(json) => out.status.success() && stdout.trim() == json,
        Expected::Error { code, text } => {
            // The message may be wrapped over lines in the report.
            let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            let flat = words(
                &stderr
                    .lines()
                    .map(|l| l.trim().trim_start_matches(['×', '│']).trim())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            out.status.code() == Some(1) && flat.contains(code) && flat.contains(&words(text))
        }
    };
    (!agrees).then(|| fail(shown)).flatten()
}

#[test]
fn clanc_evaluates_the_language_of_current_nix() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval");
    let cases = cases(&dir.join("modern"));
    let failures: Vec<String> = cases.iter().filter_map(|c| run(&dir, c)).collect();
    for f in &failures {
        println!("{f}");
    }
    println!(
        "modern: {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases of tests/eval/modern fail",
        failures.len(),
        cases.len()
    );
}
