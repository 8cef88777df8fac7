//! The differential suite: every case under `tests/eval/*.cases` is evaluated by clanc
//! (`clanc eval --strict --json --expr`) and by the real Nix (`nix-instantiate --eval
//! --strict --json -E`), both from `tests/eval/`; their outputs must be identical, and where
//! one fails the other must fail too. Cases that agree on a value are run again without
//! `--json`, strict and not (`<CODE>` for values not computed), and the Nix-syntax output
//! must be identical as well. A case is a `#== name` line followed by the
//! expression. Real Nix is required (Debian: `apt-get install nix-bin`): without it the test
//! fails; leave it out with `--skip clanc_agrees_with_nix`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

struct Case {
    file: String,
    name: String,
    expr: String,
    /// `--attr` to select (from a `#== name @attr a.b` header).
    attr: Option<String>,
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    for file in common::cases::case_files(dir) {
        for raw in file.cases {
            let (name, attr) = match raw.header.split_once(" @attr ") {
                Some((name, attr)) => (name, Some(attr.trim().to_string())),
                None => (raw.header.as_str(), None),
            };
            let mut expr = String::new();
            for line in &raw.lines {
                expr.push_str(line);
                expr.push('\n');
            }
            out.push(Case {
                file: file.name.clone(),
                name: name.trim().to_string(),
                expr,
                attr,
            });
        }
    }
    out
}

/// How a case is printed: `--strict --json`, `--strict`, or neither (values not yet
/// computed print as `<CODE>`).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Json,
    Strict,
    Lazy,
}

impl Mode {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::Json => &["--strict", "--json"],
            Mode::Strict => &["--strict"],
            Mode::Lazy => &[],
        }
    }
}

fn nix(dir: &Path, home: &Path, case: &Case, mode: Mode) -> Output {
    let expr = case.expr.as_str();
    let mut args = vec!["--eval"];
    args.extend(mode.flags());
    if let Some(attr) = &case.attr {
        args.extend(["--attr", attr.as_str()]);
    }
    Command::new("nix-instantiate")
        .args(args)
        .args(["-E", expr])
        .current_dir(dir)
        .env("NIX_CONFIG", "substituters =\nexperimental-features =\n")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("NIX_PATH", "")
        .output()
        .expect("nix-instantiate runs")
}

fn clanc(dir: &Path, case: &Case, mode: Mode) -> Output {
    let expr = case.expr.as_str();
    let mut args = vec!["eval", "--color", "never"];
    args.extend(mode.flags());
    if let Some(attr) = &case.attr {
        args.extend(["--attr", attr.as_str()]);
    }
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(args)
        .args(["--expr", expr])
        .current_dir(dir)
        .env("NIX_PATH", "")
        .output()
        .expect("clanc runs")
}

/// Whether clanc's diagnostic states Nix's error message (`error: M` from Nix, `× M` in
/// clanc's report, where long messages may be wrapped). Informational only: messages are
/// not part of what must agree.
fn same_error_message(nix_stderr: &[u8], clanc_stderr: &[u8]) -> bool {
    let nix = text(nix_stderr);
    let Some(message) = nix.lines().find_map(|l| l.strip_prefix("error: ")) else {
        return false;
    };
    // Nix appends where a duplicate was defined; clanc shows that as a label.
    let message = message.split(" at (string)").next().unwrap_or(message);
    let message = message.split(" at /").next().unwrap_or(message);
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let clanc: String = text(clanc_stderr)
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('×')
                .trim_start_matches('│')
                .trim()
        })
        .collect::<Vec<_>>()
        .join(" ");
    words(&clanc).contains(&words(message))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn first_lines(s: &str, n: usize) -> String {
    s.lines().take(n).collect::<Vec<_>>().join("\n      ")
}

#[test]
fn clanc_agrees_with_nix() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval");
    let cases = cases(&dir);
    assert!(cases.len() >= 200, "the suite has {} cases", cases.len());
    if Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!(
            "nix-instantiate not found: install Nix (Debian: apt-get install nix-bin), or leave \
             this test out with `cargo test -- --skip clanc_agrees_with_nix`"
        );
    }
    let home = tempfile::tempdir().expect("temp dir");

    // Two workers: the machine has two cores.
    let results: Vec<(usize, Option<String>, bool, bool)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (cases, dir, home) = (&cases, &dir, home.path());
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (i, case) in cases.iter().enumerate().filter(|(i, _)| i % 2 == w) {
                        let n = nix(dir, home, case, Mode::Json);
                        let c = clanc(dir, case, Mode::Json);
                        let (n_ok, c_ok) = (n.status.success(), c.status.success());
                        let mut agree = match (n_ok, c_ok) {
                            (true, true) => n.stdout == c.stdout,
                            (false, false) => true,
                            _ => false,
                        };
                        // Where the JSON agrees on a value, Nix syntax output must agree too,
                        // strict and lazy.
                        let mut shown = (n, c);
                        for mode in [Mode::Strict, Mode::Lazy] {
                            if !(agree && n_ok) {
                                break;
                            }
                            let n2 = nix(dir, home, case, mode);
                            let c2 = clanc(dir, case, mode);
                            agree = n2.status.success() == c2.status.success()
                                && (!n2.status.success() || n2.stdout == c2.stdout);
                            if !agree {
                                shown = (n2, c2);
                            }
                        }
                        let (n, c) = shown;
                        let report = (!agree).then(|| {
                            format!(
                                "--- {} :: {}\n  expr: {}\n  nix   (exit {:?}): {}\n      {}\n  clanc (exit {:?}): {}\n      {}",
                                case.file,
                                case.name,
                                first_lines(case.expr.trim(), 6),
                                n.status.code(),
                                text(&n.stdout),
                                first_lines(&text(&n.stderr), 4),
                                c.status.code(),
                                text(&c.stdout),
                                first_lines(&text(&c.stderr), 6),
                            )
                        });
                        let same_message = !n_ok && !c_ok && same_error_message(&n.stderr, &c.stderr);
                        out.push((i, report, n_ok && c_ok, same_message));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker finished"))
            .collect()
    });

    let both_values = results
        .iter()
        .filter(|(_, r, ok, _)| r.is_none() && *ok)
        .count();
    let same_messages = results.iter().filter(|(_, _, _, same)| *same).count();
    let mut failures: Vec<(usize, String)> = results
        .into_iter()
        .filter_map(|(i, r, _, _)| r.map(|r| (i, r)))
        .collect();
    failures.sort();
    for (_, report) in &failures {
        println!("{report}");
    }
    println!(
        "differential: {} passed ({} same value, {} both failed, {} of those with Nix's exact message), {} failed",
        cases.len() - failures.len(),
        both_values,
        cases.len() - failures.len() - both_values,
        same_messages,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree with Nix",
        failures.len(),
        cases.len()
    );
}
