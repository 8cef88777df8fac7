//! Evaluator benchmarks: a fold over a 100,000-element list, a recursive fibonacci,
//! merging 1,000 attrpath definitions into one set, and evaluating every Nix file of the seed
//! fleet (each to its top-level value: a module function or set). Compare with `nix-instantiate --eval
//! --strict` on the same expressions (see docs/eval.md).

use criterion::{Criterion, criterion_group, criterion_main};

use clanc::db::Database;
use clanc::eval::{Evaluator, Limits, MemoryFiles, print_json};

/// Evaluates `text` strictly and returns its JSON. Runs on the bench thread, so the
/// evaluator's stack budget is sized for an 8 MiB main thread.
fn eval(text: &str) -> String {
    let db = Database::default();
    let files = MemoryFiles::new();
    let mut ev = Evaluator::new(&db, &files, Limits::for_stack(8 * 1024 * 1024));
    let value = ev
        .eval_text(text, "/bench")
        .expect("the bench expression evaluates");
    print_json(&mut ev, &value).expect("the value prints").text
}

fn merge_source(n: usize) -> String {
    let mut s = String::from("let s = {\n");
    for i in 0..n {
        s.push_str(&format!("  a.b{i} = {i};\n"));
    }
    s.push_str("}; in builtins.length (builtins.attrNames s.a)");
    s
}

fn benches(c: &mut Criterion) {
    let fold = "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 100000)";
    assert_eq!(eval(fold), "4999950000");
    c.bench_function("fold 100k", |b| b.iter(|| eval(fold)));

    let fib = "let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 20";
    assert_eq!(eval(fib), "6765");
    c.bench_function("fib 20", |b| b.iter(|| eval(fib)));

    let merge = merge_source(1000);
    assert_eq!(eval(&merge), "1000");
    c.bench_function("merge 1000 attrpaths", |b| b.iter(|| eval(&merge)));

    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet");
    let mut texts = Vec::new();
    let mut stack = vec![seed];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("fixture is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "nix") {
                let text = std::fs::read_to_string(&path).expect("fixture file is readable");
                texts.push((text, dir.display().to_string()));
            }
        }
    }
    c.bench_function(&format!("seed fleet, {} files", texts.len()), |b| {
        b.iter(|| {
            let db = Database::default();
            let files = MemoryFiles::new();
            let mut ev = Evaluator::new(&db, &files, Limits::for_stack(8 * 1024 * 1024));
            texts
                .iter()
                .filter(|(text, dir)| ev.eval_text(text, dir).is_ok())
                .count()
        })
    });
}

criterion_group!(eval_benches, benches);
criterion_main!(eval_benches);
