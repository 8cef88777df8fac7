//! `clanc eval` as a user runs it: exit statuses, output on stdout, diagnostics and notes on
//! stderr. (What the values are is the differential suite's business.)

use std::process::{Command, Output};

fn clanc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["--color", "never", "eval"])
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/eval"))
        .output()
        .expect("clanc runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_value_prints_and_exits_zero() {
    let o = clanc(&["--strict", "--json", "--expr", "{ b = 2; a = [ 1 ]; }"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), r#"{"a":[1],"b":2}"#);
    let o = clanc(&["--strict", "--expr", "{ b = 2; a = [ 1 ]; }"]);
    assert_eq!(stdout(&o), "{ a = [ 1 ]; b = 2; }\n");
    // Without --strict, what is not computed yet shows as <CODE>, as in Nix.
    let o = clanc(&["--expr", "{ b = 2; a = [ 1 ]; }"]);
    assert_eq!(stdout(&o), "{ a = <CODE>; b = 2; }\n");
}

#[test]
fn files_and_directories_evaluate() {
    let o = clanc(&["--json", "files/simple.nix"]);
    assert_eq!(stdout(&o), r#"{"x":1,"y":"two"}"#);
    let o = clanc(&["--json", "files/dir", "--attr", "sibling.y"]);
    assert_eq!(stdout(&o), r#""two""#);
}

#[test]
fn errors_exit_one_with_a_diagnostic() {
    let o = clanc(&["--json", "--expr", "let x = x; in x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(
        err.contains("N003") && err.contains("infinite recursion encountered"),
        "{err}"
    );

    let o = clanc(&["--json", "files/undefined.nix"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("undefined variable 'doesNotExist'"));

    let o = clanc(&["--json", "--expr", "import ./files/nope.nix"]);
    assert!(stderr(&o).contains("N004"));
}

#[test]
fn unknowns_exit_three_and_say_why() {
    let o = clanc(&[
        "--json",
        "--expr",
        "{ sys = builtins.currentSystem; n = 1; }",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stdout(&o),
        r#"{"n":1,"sys":{"__unknown":"builtins.currentSystem (the evaluating host's system)"}}"#
    );
    assert!(stderr(&o).contains("note: unknown: builtins.currentSystem"));
    let o = clanc(&["--json", "--expr", "<nixpkgs>"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("(from (string):1:1)"), "{}", stderr(&o));
}

#[test]
fn limits_are_flags() {
    let o = clanc(&[
        "--json",
        "--max-steps",
        "1000",
        "--expr",
        "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 100000)",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("N005"));
    let o = clanc(&["--json", "--expr", "let f = x: f x; in f 1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("N005"));
}

#[test]
fn traces_go_to_stderr() {
    let o = clanc(&["--json", "--expr", "builtins.trace \"hello\" 1"]);
    assert_eq!(stdout(&o), "1");
    assert!(stderr(&o).contains("trace: hello"));
}

#[test]
fn an_error_past_column_65535_is_reported_without_a_panic() {
    // A long line (as in minified JSON): miette cannot draw a snippet past column 65,535, so
    // the report falls back to `file:line:col` and the message.
    let expr = format!(
        "{{ a = \"{}\"; b = throw \"late\"; }}.b",
        "x".repeat(70_000)
    );
    let o = clanc(&["--expr", &expr]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("late") && err.contains(":1:70"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
