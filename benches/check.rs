//! `clanc check` of generated clans with 10, 100, 500, 1,000 and 10,000 machines: in-process
//! (the analysis host's load and first check: syntax, model, checker; what an editor
//! integration pays) and as a whole process (the release binary, as pre-commit runs it), cold
//! (`--no-cache`), warm (an entry of the unchanged clan in the on-disk cache, answered
//! by stating the clan's paths), commented (a comment added to a file the evaluation reads
//! before each run: the entry answers, its spans moved) and edited (the clan's name changed
//! before each run: the model is built again, from the files the cache keeps lowered but the
//! edited one).
//! Benchmarks, not tests: no assertions on time.

mod common;

use common::generated_clan;

use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn check_in_process(dir: &Path) -> usize {
    let mut host = clanc::analysis::AnalysisHost::load(dir).expect("clan loads");
    host.check(false).diagnostics.len()
}

/// A whole `clanc check`; `cache`: `--cache-dir` and its directory, else `--no-cache`.
fn check_process(dir: &Path, cache: Option<&Path>) -> bool {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_clanc"));
    command.args(["check", "--format", "json"]);
    match cache {
        Some(cache) => command.arg("--cache-dir").arg(cache),
        None => command.arg("--no-cache"),
    };
    command
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
            b.iter(|| check_process(dir.path(), None))
        });
        let cache = tempfile::tempdir().expect("a cache directory");
        // The cache trusts a file's state only 2 s after it changed (`cache::snapshot`): the
        // entry is written once the generated files are that old, so that every warm run is
        // answered by stating the clan, even when the cold runs above are filtered out.
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        assert!(
            check_process(dir.path(), Some(cache.path())),
            "the entry is written"
        );
        group.bench_function(format!("gen-{n}/process-warm"), |b| {
            b.iter(|| check_process(dir.path(), Some(cache.path())))
        });
        // A comment added to the inventory's machines before each run (not timed).
        let read = dir.path().join("modules/clan/inventory/machines/eu.nix");
        let comment = || {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new().append(true).open(&read);
            let file = file.as_mut().expect("the generated clan has eu.nix");
            file.write_all(b"\n# edited\n").expect("append");
        };
        group.bench_function(format!("gen-{n}/process-commented"), |b| {
            b.iter_batched(
                comment,
                |()| check_process(dir.path(), Some(cache.path())),
                BatchSize::PerIteration,
            )
        });
        // The clan's name, which the model reads, changed before each run (not timed).
        let meta = dir.path().join("modules/clan/meta.nix");
        let text = std::fs::read_to_string(&meta).expect("the generated clan has meta.nix");
        let name = format!("meta.name = \"generated-{n}\";");
        assert!(text.contains(&name), "{name} in meta.nix");
        let edits = std::cell::Cell::new(0);
        let rename = || {
            edits.set(edits.get() + 1);
            let renamed = format!("meta.name = \"generated-{n}-{}\";", edits.get());
            std::fs::write(&meta, text.replace(&name, &renamed)).expect("write meta.nix");
        };
        group.bench_function(format!("gen-{n}/process-edited"), |b| {
            b.iter_batched(
                rename,
                |()| check_process(dir.path(), Some(cache.path())),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(check, benches);
criterion_main!(check);
