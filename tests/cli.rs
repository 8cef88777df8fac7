//! End-to-end behaviour of the `clanc` binary: the seed fleet, exit codes, formats, colour,
//! completions, and agreement of clanc's parser with the real Nix parser.

mod common;

use common::{clanc, nix_files, nix_parses, repo};

#[test]
fn seed_fleet_checks_clean_as_version_1_json() {
    let dir = repo().join("fixtures/seed-fleet");
    let out = clanc(&[
        "check",
        "--no-cache",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["diagnostics"], serde_json::json!([]));
    assert_eq!(json["summary"]["errors"], 0);
    // every .nix file plus flake.lock
    let expected_files = nix_files(&dir).len() + 1;
    assert_eq!(json["summary"]["files"], expected_files);
}

#[test]
fn check_defaults_to_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flake.nix"), "{ outputs = _: { }; ").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["check", "--no-cache"])
        .args(["--format", "github"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("::error file=flake.nix,line=1,col=21,title=N001::"),
        "{stdout}"
    );
}

#[test]
fn git_directories_and_result_links_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git/hooks")).unwrap();
    std::fs::write(root.join(".git/hooks/broken.nix"), "{").unwrap();
    std::fs::create_dir_all(root.join("build/out")).unwrap();
    std::fs::write(root.join("build/out/broken.nix"), "{").unwrap();
    std::os::unix::fs::symlink(root.join("build"), root.join("result")).unwrap();
    std::os::unix::fs::symlink(root.join("build"), root.join("result-1")).unwrap();
    std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
    std::fs::write(root.join("flake.nix"), "{ }").unwrap();
    let out = clanc(&[
        "check",
        "--no-cache",
        root.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["files"], 1, "{json}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn fifo_named_like_a_nix_file_is_an_io_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.nix");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = clanc(&["check", dir.path().to_str().unwrap()]);
    // Never opened (that would block), and never silently skipped: an I/O error naming it.
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pipe.nix") && stderr.contains("FIFO"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = clanc(&["check", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = clanc(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let dir = repo().join("tests/golden/missing-semicolon/input");
    let dir = dir.to_str().unwrap();
    let always = clanc(&["check", "--no-cache", dir, "--color", "always"]);
    assert!(always.stdout.contains(&0x1b), "--color always colours");
    let never = clanc(&["check", "--no-cache", dir, "--color", "never"]);
    assert!(!never.stdout.contains(&0x1b));
    // auto: stdout is a pipe here, so no colour, and NO_COLOR is honoured either way
    let auto = clanc(&["check", "--no-cache", dir]);
    assert!(!auto.stdout.contains(&0x1b));
    let no_color = std::process::Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["check", "--no-cache", dir, "--color", "auto"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!no_color.stdout.contains(&0x1b));
    assert_eq!(always.status.code(), Some(1));
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = clanc(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("check"),
            "{shell} completion mentions `check`"
        );
    }
}

/// Fixture files written in the language of a Nix newer than the 2.8 installed here (pipe
/// operators, sets merged at every depth: docs/eval.md), which clanc must accept and Nix 2.8
/// rejects.
const NEWER_THAN_NIX_2_8: &[&str] = &[
    "fixtures/mistakes/silent-current-nix-language/modules/inventory/site.nix",
    "fixtures/mistakes/silent-current-nix-language/modules/machines/press.nix",
];

/// clanc reports N001 for a file exactly when the real Nix parser rejects it (syntax, attributes
/// defined twice, undefined variables), over every Nix
/// file in the fixtures, the golden cases and clanc's own flake.nix; but for the files of
/// [`NEWER_THAN_NIX_2_8`], which clanc accepts and Nix 2.8 does not.
#[test]
fn parser_agrees_with_nix_on_every_fixture_and_golden_file() {
    let mut files = nix_files(&repo().join("fixtures"));
    files.extend(nix_files(&repo().join("tests/golden")));
    files.push(repo().join("flake.nix"));
    assert!(files.len() > 40);
    let db = clanc::db::Database::default();
    let accepts = |file: &std::path::Path| {
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
        let source = clanc::db::SourceFile::new(&db, file.display().to_string(), text.into());
        clanc::check::syntax_diagnostics(&db, source).is_empty()
    };
    let mut disagreements = Vec::new();
    let newer: Vec<_> = NEWER_THAN_NIX_2_8.iter().map(|f| repo().join(f)).collect();
    for file in &newer {
        assert!(file.is_file(), "{} is listed but missing", file.display());
        if !accepts(file) {
            disagreements.push(format!("{}: clanc rejects it", file.display()));
        }
        if nix_parses(file) {
            disagreements.push(format!(
                "{}: Nix 2.8 accepts it, so it need not be listed as newer",
                file.display()
            ));
        }
    }
    files.retain(|f| !newer.contains(f));
    let (accepted, rejected): (Vec<_>, Vec<_>) = files.iter().partition(|file| accepts(file));
    // One Nix run for everything clanc accepts; file by file only when that run fails.
    let all_parse = common::nix_instantiate()
        .arg("--parse")
        .args(&accepted)
        .output()
        .expect("nix-instantiate is installed (scripts/test installs nix-bin)")
        .status
        .success();
    if !all_parse {
        for file in accepted.iter().filter(|f| !nix_parses(f)) {
            disagreements.push(format!("{}: clanc accepts, nix rejects", file.display()));
        }
    }
    for file in rejected.iter().filter(|f| nix_parses(f)) {
        disagreements.push(format!("{}: clanc rejects, nix accepts", file.display()));
    }
    assert!(
        rejected.len() >= 10,
        "the golden syntax-error cases are among the files"
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn flake_nix_of_clanc_parses_with_clanc_and_nix() {
    let flake = repo().join("flake.nix");
    let text = std::fs::read_to_string(&flake).unwrap();
    assert!(clanc::syntax::parse(&text).errors.is_empty());
    assert!(nix_parses(&flake));
}

#[test]
fn watch_mode_checks_again_after_a_change() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    // the flake reads bad.nix: its syntax errors are errors (in a file the flake never
    // reads they would be information)
    std::fs::write(
        dir.path().join("flake.nix"),
        "{ outputs = { ... }: import ./bad.nix; }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.nix"), "{ }\n").unwrap();
    // stdout and stderr into one pipe, so that a run's report (stdout, flushed) comes before
    // its "checked in" line (stderr) as the program wrote them
    let (reader, writer) = std::io::pipe().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["check", "--watch", "--format", "github", "."])
        // a relative directory: events name absolute paths
        .current_dir(dir.path())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            let prefix = if line.starts_with("[clanc]") || line.starts_with("error") {
                "err"
            } else {
                "out"
            };
            let _ = tx.send(format!("{prefix}: {line}"));
        }
    });
    let wait_for_run = |seen: &mut Vec<String>| loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("watch mode reported a run");
        let done = line.starts_with("err: [clanc] checked in");
        seen.push(line);
        if done {
            return;
        }
    };
    // the first run, then after each write of bad.nix: the error it must report (none: no
    // error at all). The clan stays loaded between runs: a changed file is read again, and
    // what it says now is reported (an error, a comment line above it, the fix).
    let steps = [
        (None, None),
        (Some("{ a = ; }\n"), Some("line=1,col=7,title=N001")),
        (Some("# note\n{ a = ; }\n"), Some("line=2,col=7,title=N001")),
        (Some("# note\n{ a = 1; }\n"), None),
    ];
    for (text, error) in steps {
        if let Some(text) = text {
            std::fs::write(dir.path().join("bad.nix"), text).unwrap();
        }
        let mut seen = Vec::new();
        wait_for_run(&mut seen);
        match error {
            Some(error) => assert!(
                seen.iter()
                    .any(|l| l.starts_with(&format!("out: ::error file=bad.nix,{error}"))),
                "{seen:?}"
            ),
            None => assert!(
                !seen.iter().any(|l| l.starts_with("out: ::error")),
                "{seen:?}"
            ),
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn plan_steps_pass_a_dash_name_back_to_clanc_as_a_value() {
    // A machine named `-hazel` (M005): the step the plan writes must reach clanc's own
    // parser as `--machine`'s value, not as an unknown flag.
    let dir = repo().join("fixtures/mistakes/M005-dash-machine-name");
    let argv = clanc::plan::step::generate_vars_argv(dir.to_str().unwrap(), "-hazel", "-g");
    let out = clanc(&argv[1..].iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("machine `-hazel` has no vars generator `-g`"),
        "{err}"
    );
}
