//! Parsing and checking speed on the seed fleet and on a generated 500-machine clan
//! (`fixtures/gen-clan 500 DIR`). Benchmarks, not tests: no assertions on time.

mod common;

use common::{generated_clan, repo};

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

fn nix_texts(dir: &Path) -> Vec<String> {
    let mut db = clanc::db::Database::default();
    let loaded = clanc::loader::load_clan(&mut db, dir).expect("fixture loads");
    loaded
        .workspace
        .files(&db)
        .iter()
        .filter(|f| clanc::db::is_nix(f.path(&db)))
        .map(|f| f.text(&db).to_string())
        .collect()
}

fn check(dir: &Path) -> usize {
    let mut db = clanc::db::Database::default();
    let loaded = clanc::loader::load_clan(&mut db, dir).expect("clan loads");
    clanc::check::check_workspace(&db, loaded.workspace).len()
}

fn benches(c: &mut Criterion) {
    let seed = repo().join("fixtures/seed-fleet");
    let large = generated_clan(500);
    for (name, dir) in [("seed-fleet", seed.as_path()), ("gen-500", large.path())] {
        let texts = nix_texts(dir);
        let bytes: usize = texts.iter().map(String::len).sum();
        let mut group = c.benchmark_group(format!("{name} ({} files, {bytes} bytes)", texts.len()));
        group.bench_function("parse", |b| {
            b.iter(|| {
                texts
                    .iter()
                    .map(|t| clanc::syntax::parse(t).errors.len())
                    .sum::<usize>()
            })
        });
        group.bench_function("load+check", |b| b.iter(|| check(dir)));
        group.finish();
    }
}

criterion_group!(parse, benches);
criterion_main!(parse);
