//! The module system's differential suite: every case of `tests/modules/*.cases` (a list of
//! modules, optionally what to print) is evaluated by clanc's module system, through the
//! `lib` clanc gives a flake (`clanc::modules::flake::module_lib`: `lib.evalModules` bound to
//! `src/modules/system/`), and compared with what real Nix printed running nixpkgs'
//! `lib.evalModules` on the same text. Nix's answers are stored in the case files (`#-> JSON`
//! or `#-> fails: message`); `scripts/module-oracle` regenerates them where nixpkgs' lib is
//! present (its header describes the format).
//!
//! Where Nix printed a value, clanc must print the same JSON and report nothing; where Nix
//! failed, clanc must report an error (an evaluation error or a module diagnostic: a
//! conflict, a value of the wrong type, an option that does not exist). A value clanc cannot
//! know agrees with nothing. `MODULE_SUITE_VERBOSE=1 cargo test --test module_differential
//! -- --nocapture` also prints, where both fail, Nix's message beside clanc's diagnostics.

mod common;

use std::path::Path;
use std::sync::Arc;

use clanc::db::{self, DirEntry, EntryKind, SourceFile};
use clanc::eval::{EvalError, Evaluator, FileError, Files, Limits, print_json};
use clanc::files::DiskFiles;
use clanc::modules::flake::module_lib;
use clanc::modules::known;

struct Case {
    file: String,
    name: String,
    print: Option<String>,
    body: String,
    /// What Nix printed (`fails: ...` when it failed).
    expect: Option<String>,
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    for file in common::cases::case_files(dir) {
        for raw in file.cases {
            let mut case = Case {
                file: file.name.clone(),
                name: raw.header,
                print: None,
                body: String::new(),
                expect: None,
            };
            for line in &raw.lines {
                if let Some(print) = line.strip_prefix("#print ")
                    && case.body.is_empty()
                {
                    case.print = Some(print.trim().to_string());
                } else if let Some(expect) = line.strip_prefix("#-> ") {
                    case.expect = Some(expect.to_string());
                } else {
                    case.body.push_str(line);
                    case.body.push('\n');
                }
            }
            out.push(case);
        }
    }
    out
}

/// The case as a function of `lib` (the oracle applies the same text to nixpkgs' lib).
fn expression(case: &Case) -> String {
    format!(
        "(lib: (modules: (config: {})\n  (lib.evalModules {{ inherit modules; }}).config)\n(\n{}\n))",
        case.print.as_deref().unwrap_or("config"),
        case.body.trim_end_matches('\n')
    )
}

/// The disk, and clanc's embedded models under their virtual paths.
#[derive(Default)]
struct TestFiles {
    disk: DiskFiles,
}

impl Files for TestFiles {
    fn source(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError> {
        match known::source(path) {
            Some(text) => Ok(SourceFile::new(db, path.to_string(), Arc::from(text))),
            None => self.disk.source(db, path),
        }
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        self.disk.read_dir(path)
    }

    fn file_type(&self, path: &str) -> Option<EntryKind> {
        if known::source(path).is_some() {
            return Some(EntryKind::Regular);
        }
        self.disk.file_type(path)
    }
}

/// What clanc made of a case.
enum Outcome {
    /// The JSON, with nothing reported.
    Value(String),
    /// The JSON holds values clanc could not know.
    Unknown { json: String, why: Vec<String> },
    /// Evaluation failed or the module system reported something (code and message).
    Errors(Vec<String>),
}

fn error_line(e: &EvalError) -> String {
    format!("{}: {}", e.code(), e.message)
}

fn clanc(case: &Case, dir: &str) -> Outcome {
    let database = db::Database::default();
    let files = TestFiles::default();
    let mut ev = Evaluator::new(&database, &files, Limits::default());
    let (ctx, lib) = module_lib(&mut ev);
    let result = (|| {
        let f = ev.eval_text(&expression(case), dir)?;
        let value = ev.apply(f, lib, None)?;
        print_json(&mut ev, &value)
    })();
    let mut errors: Vec<String> = (ctx.diagnostics.borrow().iter())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    match result {
        Err(e) => {
            errors.insert(0, error_line(&e));
            Outcome::Errors(errors)
        }
        Ok(_) if !errors.is_empty() => Outcome::Errors(errors),
        Ok(printed) if printed.unknowns.is_empty() => Outcome::Value(printed.text),
        Ok(printed) => Outcome::Unknown {
            json: printed.text,
            why: printed.unknowns.iter().map(|u| u.reason.clone()).collect(),
        },
    }
}

/// Where two JSON values differ, as `path: expected X, got Y` lines.
fn json_diff(path: &str, want: &serde_json::Value, got: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value as J;
    match (want, got) {
        (J::Object(a), J::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json_diff(&p, x, y, out),
                    (Some(x), None) => out.push(format!("{p}: expected {x}, missing")),
                    (None, Some(y)) => out.push(format!("{p}: not expected, got {y}")),
                    (None, None) => {}
                }
            }
        }
        (J::Array(a), J::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if want == got => {}
        _ => out.push(format!("{path}: expected {want}, got {got}")),
    }
}

fn describe_difference(expected: &str, got: &str) -> String {
    match (
        serde_json::from_str::<serde_json::Value>(expected),
        serde_json::from_str::<serde_json::Value>(got),
    ) {
        (Ok(a), Ok(b)) => {
            let mut lines = Vec::new();
            json_diff("<result>", &a, &b, &mut lines);
            if lines.is_empty() {
                // same data, different text (key order, number format)
                format!("same data, other text:\n      nix:   {expected}\n      clanc: {got}")
            } else {
                lines.join("\n      ")
            }
        }
        _ => format!("nix:   {expected}\n      clanc: {got}"),
    }
}

/// Why a case disagrees with Nix, or `None` when it agrees.
fn judge(case: &Case, outcome: &Outcome) -> Option<String> {
    let Some(expect) = &case.expect else {
        return Some("no expectation stored: run scripts/module-oracle".into());
    };
    let nix_failed = expect.starts_with("fails");
    match outcome {
        Outcome::Value(json) if nix_failed => Some(format!(
            "Nix fails ({expect}) but clanc reports nothing and prints {json}"
        )),
        Outcome::Value(json) if json != expect => Some(describe_difference(expect, json)),
        Outcome::Value(_) => None,
        Outcome::Errors(_) if nix_failed => None,
        Outcome::Errors(errors) => Some(format!(
            "Nix prints {expect} but clanc reports:\n      {}",
            errors.join("\n      ")
        )),
        Outcome::Unknown { json, why } => Some(format!(
            "clanc cannot know part of it ({}); Nix: {expect}; clanc: {json}",
            why.join("; ")
        )),
    }
}

#[test]
fn clanc_module_system_agrees_with_nixpkgs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/modules");
    let cases = cases(&dir);
    assert!(cases.len() >= 150, "the suite has {} cases", cases.len());
    let dir_text = dir.to_string_lossy().into_owned();
    // Evaluation recurses with the depth of the modules: a thread with clanc's own stack.
    let reports = std::thread::Builder::new()
        .stack_size(clanc::STACK_SIZE)
        .spawn(move || {
            let mut reports = Vec::new();
            let mut tally = (0usize, 0usize);
            let verbose = std::env::var_os("MODULE_SUITE_VERBOSE").is_some();
            for case in &cases {
                let outcome = clanc(case, &dir_text);
                match judge(case, &outcome) {
                    Some(why) => reports.push(format!(
                        "--- {} :: {}\n      {why}\n  modules:\n{}",
                        case.file,
                        case.name,
                        indent(&expression(case))
                    )),
                    None if matches!(outcome, Outcome::Errors(_)) => {
                        if let Outcome::Errors(errors) = &outcome
                            && verbose
                        {
                            println!(
                                "both fail: {} :: {}\n  nix:   {}\n  clanc: {}",
                                case.file,
                                case.name,
                                case.expect.as_deref().unwrap_or_default(),
                                errors.join("\n         ")
                            );
                        }
                        tally.1 += 1
                    }
                    None => tally.0 += 1,
                }
            }
            (reports, tally, cases.len())
        })
        .expect("thread starts")
        .join()
        .expect("the suite does not panic");
    let (failures, (values, errors), total) = reports;
    for f in &failures {
        println!("{f}");
    }
    println!(
        "module differential: {} of {total} agree ({values} same value, {errors} both fail), {} disagree",
        values + errors,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} module cases disagree with nixpkgs' lib.evalModules (details above)",
        failures.len()
    );
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The stored expectations are what Nix says now (runs `scripts/module-oracle --check`).
#[test]
#[ignore = "needs real Nix and nixpkgs' lib: NIXPKGS_LIB=<lib> cargo test --test module_differential -- --ignored"]
fn stored_expectations_are_what_nix_says() {
    let lib = std::env::var_os("NIXPKGS_LIB").expect("NIXPKGS_LIB names nixpkgs' lib");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = std::process::Command::new(root.join("scripts/module-oracle"))
        .arg("--check")
        .env("NIXPKGS_LIB", lib)
        .status()
        .expect("scripts/module-oracle runs");
    assert!(status.success(), "stored expectations differ from Nix");
}
