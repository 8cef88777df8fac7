//! Planning speed: generated clans of 1,000 and 10,000 machines (`fixtures/gen-clan N DIR`),
//! loaded and modelled once; only `plan::make_plan` from the built model is timed (goal:
//! under 50 ms for 1,000 machines). Benchmarks, not tests: no assertions on time.

mod common;

use common::generated_clan;

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

use clanc::check::VarsListing;
use clanc::model::Clan;
use clanc::plan::{Fingerprint, Goal, PlanOptions, make_plan};

fn model(dir: &Path) -> (Clan, VarsListing) {
    let mut db = clanc::db::Database::default();
    let loaded = clanc::loader::load_clan(&mut db, dir).expect("clan loads");
    let root = std::fs::canonicalize(dir).expect("canonical path");
    let clan = clanc::model::build_model(&db, &root.to_string_lossy(), loaded.workspace);
    let listing = VarsListing::from_dirs(loaded.workspace.dirs(&db).iter().map(|d| {
        let entries = d.entries(&db).iter().map(|e| e.name.as_str()).collect();
        (d.path(&db).as_str(), entries)
    }));
    (clan, listing)
}

fn options(flake: &str) -> PlanOptions {
    PlanOptions {
        flake: flake.to_string(),
        goal: Goal::Switch,
        selector: None,
        build_host: None,
        build_local: false,
        source_upload: clanc::plan::SourceUpload::SourceOnly,
        activation: Default::default(),
        // Darwin machines are planned, not skipped for want of a builder.
        local_is_darwin: true,
        configured_order: Default::default(),
        fingerprint: Fingerprint::compute([], [], "bench"),
        system_profile: clanc::plan::step::SYSTEM_PROFILE.to_string(),
        target_host: None,
        builders: None,
        upload_dir: clanc::plan::step::SECRETS_UPLOAD_DIR.to_string(),
        changed: None,
    }
}

fn bench_plan(c: &mut Criterion) {
    for machines in [1_000, 10_000] {
        let dir = generated_clan(machines);
        let (clan, listing) = model(dir.path());
        let options = options(&dir.path().to_string_lossy());
        let plan = make_plan(&clan, &listing, &options);
        eprintln!(
            "{machines} machines: {} steps, {} orderings, {} waves",
            plan.steps.len(),
            plan.ordering.edges.len(),
            plan.ordering.waves.len()
        );
        c.bench_function(&format!("plan {machines} machines"), |b| {
            b.iter(|| make_plan(&clan, &listing, &options).steps.len())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_plan
}
criterion_main!(benches);
