//! A deterministic stand-in for fuzzing that runs with `cargo test`: every expression of the
//! differential suite, cut and mangled in many ways, is parsed, lowered, evaluated and
//! printed under tight limits. Nothing may panic or overflow the stack; errors are fine.

use std::path::Path;

use clanc::db::Database;
use clanc::eval::{Evaluator, Limits, MemoryFiles, print_json};

fn expressions() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/eval")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
    {
        let text = std::fs::read_to_string(file).expect("readable");
        for case in text.split("#== ").skip(1) {
            if let Some((_, expr)) = case.split_once('\n') {
                out.push(expr.to_string());
            }
        }
    }
    out
}

/// Variants of `s`: prefixes, a deleted character, a doubled half, swapped halves, and the
/// expression nested in itself.
fn mutations(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut out = Vec::new();
    let step = (n / 7).max(1);
    for cut in (0..n).step_by(step) {
        out.push(chars[..cut].iter().collect());
        let mut deleted = chars.clone();
        deleted.remove(cut);
        out.push(deleted.into_iter().collect());
    }
    let half = n / 2;
    let (a, b): (String, String) = (
        chars[..half].iter().collect(),
        chars[half..].iter().collect(),
    );
    out.push(format!("{b}{a}"));
    out.push(format!("{a}{a}{b}"));
    out.push(format!(
        "let x = ({s}); in [ x x.a (x x) (x + 1) \"${{x}}\" ]"
    ));
    out.push(format!("rec {{ a = {s}; b = a; c = with a; b; }}"));
    out
}

#[test]
fn mangled_inputs_never_panic() {
    let stack = 64 * 1024 * 1024;
    let handle = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let mut count = 0usize;
            for expr in expressions() {
                for text in mutations(&expr) {
                    let db = Database::default();
                    let files = MemoryFiles::new().with("/t/files/simple.nix", "{ x = 1; }");
                    let limits = Limits {
                        max_steps: 100_000,
                        ..Limits::for_stack(stack / 2)
                    };
                    let mut ev = Evaluator::new(&db, &files, limits);
                    if let Ok(value) = ev.eval_text(&text, "/t") {
                        let _ = print_json(&mut ev, &value);
                    }
                    count += 1;
                }
            }
            count
        })
        .expect("thread starts");
    let count = handle.join().expect("no input panicked");
    assert!(count > 2000, "ran {count} inputs");
}
