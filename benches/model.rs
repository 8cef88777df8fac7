//! Building the clan model (flake evaluation, module merging, reading the inventory and
//! every machine's modules) for the seed fleet and generated clans of 100, 500 and 1,000
//! machines (`fixtures/gen-clan`). "cold" starts from a fresh database (parsing and
//! lowering included, as one `clanc check` run); "warm" reuses the database, so only
//! evaluation is measured (an editor re-checking after an edit elsewhere).

mod common;

use common::{generated_clan, repo};

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

fn root(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .expect("dir exists")
        .to_string_lossy()
        .into_owned()
}

fn model_cold(dir: &Path) -> usize {
    let mut db = clanc::db::Database::default();
    let loaded = clanc::loader::load_clan(&mut db, dir).expect("clan loads");
    clanc::model::build_model(&db, &root(dir), loaded.workspace)
        .machines
        .len()
}

fn benches(c: &mut Criterion) {
    let seed = repo().join("fixtures/seed-fleet");
    let generated: Vec<(usize, tempfile::TempDir)> = [100, 500, 1000]
        .into_iter()
        .map(|n| (n, generated_clan(n)))
        .collect();
    let mut cases: Vec<(String, &Path)> = vec![("seed-fleet".into(), seed.as_path())];
    for (n, dir) in &generated {
        cases.push((format!("gen-{n}"), dir.path()));
    }
    let mut group = c.benchmark_group("model");
    group.sample_size(10);
    for (name, dir) in &cases {
        let machines = model_cold(dir);
        assert!(machines > 0, "{name}: the model has no machines");
        group.bench_function(format!("{name}/cold"), |b| b.iter(|| model_cold(dir)));
        let mut db = clanc::db::Database::default();
        let loaded = clanc::loader::load_clan(&mut db, dir).expect("clan loads");
        let root = root(dir);
        group.bench_function(format!("{name}/warm"), |b| {
            b.iter(|| {
                clanc::model::build_model(&db, &root, loaded.workspace)
                    .machines
                    .len()
            })
        });
    }
    group.finish();
}

criterion_group!(model, benches);
criterion_main!(model);
