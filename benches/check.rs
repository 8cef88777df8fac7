//! `clanc check` of generated clans with 10, 100, 500, 1,000 and 10,000 machines: in-process
//! (load, syntax, model, checker; what an editor integration pays) and as a whole process
//! (the release binary, as pre-commit runs it). Benchmarks, not tests: no assertions on time.

mod common;

use common::generated_clan;

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

fn check_in_process(dir: &Path) -> usize {
    let mut db = clanc::db::Database::default();
    let loaded = clanc::loader::load_clan(&mut db, dir).expect("clan loads");
    let root = std::fs::canonicalize(dir).expect("dir exists");
    clanc::analysis::analyse(&db, &root.to_string_lossy(), loaded.workspace, false)
        .diagnostics
        .len()
}

fn check_process(dir: &Path) -> bool {
    std::process::Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["check", "--no-cache", "--format", "json"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("clanc runs")
        .code()
        .is_some()
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    for n in [10, 100, 500, 1000, 10_000] {
        let dir = generated_clan(n);
        group.bench_function(format!("gen-{n}/in-process"), |b| {
            b.iter(|| check_in_process(dir.path()))
        });
        group.bench_function(format!("gen-{n}/process"), |b| {
            b.iter(|| check_process(dir.path()))
        });
    }
    group.finish();
}

criterion_group!(check, benches);
criterion_main!(check);
