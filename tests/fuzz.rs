//! Fuzzing on stable Rust, in every test run: inputs made by mutating real ones (the seed
//! fleet's Nix files, golden inputs, sops files, inventory.json, selectors and deploy targets)
//! with a fixed seed, fed to the parser, the evaluator, the whole check, the sops reader,
//! the two grammars, and the cache's pack of lowered files (read back as lowered). A panic (or a stack overflow, which aborts the test binary) is a bug;
//! errors and unknowns are fine. The budget is a number of runs per target:
//! `CLANC_FUZZ_RUNS` multiplies it (the long run of docs/eval.md: `CLANC_FUZZ_RUNS=400 cargo
//! test --release --test fuzz`), `CLANC_FUZZ_SEED` changes the seed. A failing input is printed
//! (escaped) so that it can become a regression test.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use clanc::db::Database;
use clanc::eval::{Evaluator, Limits, MemoryFiles, print_json};

/// Tokens worth inserting: Nix syntax, and the bytes hostile inputs are made of.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ";",
    "=",
    ":",
    ".",
    ",",
    "@",
    "?",
    "...",
    "\"",
    "''",
    "${",
    "let ",
    " in ",
    "rec ",
    "inherit ",
    "with ",
    "if ",
    " then ",
    " else ",
    "assert ",
    "or ",
    "//",
    "++",
    "+",
    "-",
    "*",
    "/",
    "!",
    "==",
    "!=",
    "<",
    ">",
    "&&",
    "||",
    "->",
    "|>",
    "<|",
    "0",
    "1",
    "-1",
    "9223372036854775807",
    "1.5e308",
    "./x.nix",
    "<nixpkgs>",
    "~/x",
    "null",
    "true",
    "x",
    "import ",
    "builtins.",
    "__curPos",
    "\\",
    "\n",
    "#",
    "/*",
    "*/",
    "\u{feff}",
    "\u{2039}",
    "é",
];

fn runs(base: usize) -> usize {
    let factor = std::env::var("CLANC_FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    base * factor.max(1)
}

fn rng(target: u64) -> StdRng {
    let seed = std::env::var("CLANC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0xC1A4C);
    StdRng::seed_from_u64(seed ^ target.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A mutation of `input` (on char boundaries, so the result stays UTF-8), sometimes spliced
/// with another seed.
fn mutate(rng: &mut StdRng, input: &str, seeds: &[String]) -> String {
    let mut text: Vec<char> = input.chars().collect();
    for _ in 0..rng.gen_range(1..=4) {
        let at = if text.is_empty() {
            0
        } else {
            rng.gen_range(0..=text.len())
        };
        match rng.gen_range(0..6) {
            0 => {
                let token = TOKENS[rng.gen_range(0..TOKENS.len())];
                text.splice(at..at, token.chars());
            }
            1 if !text.is_empty() => {
                let end = (at + rng.gen_range(1..32)).min(text.len());
                text.drain(at.min(end)..end);
            }
            2 if !text.is_empty() => {
                let start = rng.gen_range(0..text.len());
                let end = (start + rng.gen_range(1..64)).min(text.len());
                let copy: Vec<char> = text[start..end].to_vec();
                text.splice(at..at, copy);
            }
            3 if !seeds.is_empty() => {
                let other: Vec<char> = seeds[rng.gen_range(0..seeds.len())].chars().collect();
                let from = if other.is_empty() {
                    0
                } else {
                    rng.gen_range(0..other.len())
                };
                let end = (from + rng.gen_range(1..200)).min(other.len());
                text.splice(at..at, other[from..end].iter().copied());
            }
            4 => {
                // One character repeated: what made the parser slow (issue 25, row 2).
                let c = TOKENS[rng.gen_range(0..TOKENS.len())]
                    .chars()
                    .next()
                    .unwrap_or('!');
                text.splice(at..at, std::iter::repeat_n(c, rng.gen_range(1..200)));
            }
            _ if !text.is_empty() => {
                let i = rng.gen_range(0..text.len());
                text[i] = char::from_u32(rng.gen_range(0..0x80)).unwrap_or(' ');
            }
            _ => {}
        }
    }
    text.into_iter().collect()
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.to_string_lossy().ends_with(ext) {
            out.push(path);
        }
    }
}

fn seed_files(dirs: &[&str], ext: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for dir in dirs {
        files_under(&common::repo().join(dir), ext, &mut paths);
    }
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|t| t.len() < 20_000)
        .collect()
}

/// Runs `target` on mutations of `seeds` on a thread with a big stack, and fails with the
/// input that panicked.
fn fuzz(name: &str, id: u64, seeds: Vec<String>, base_runs: usize, target: fn(&str)) {
    assert!(!seeds.is_empty(), "{name}: no seed inputs found");
    let total = runs(base_runs);
    let name = name.to_string();
    std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || {
            let mut rng = rng(id);
            for i in 0..total {
                let seed = &seeds[i % seeds.len()];
                let input = mutate(&mut rng, seed, &seeds);
                if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
                    panic!("{name}: run {i} panicked on the input {input:?}");
                }
            }
        })
        .expect("thread starts")
        .join()
        .expect("no panic");
}

fn parse_target(text: &str) {
    let parse = clanc::syntax::parse(text);
    let _ = parse.root();
}

fn eval_target(text: &str) {
    let db = Database::default();
    let files = MemoryFiles::new().with("/fuzz/a.nix", "{ x = 1; }");
    let limits = Limits {
        max_steps: 200_000,
        max_value_bytes: 16 << 20,
        ..Limits::for_stack(64 * 1024 * 1024)
    };
    let mut ev = Evaluator::new(&db, &files, limits);
    if let Ok(value) = ev.eval_text(text, "/fuzz") {
        let _ = print_json(&mut ev, &value);
    }
}

/// The file's IR as lowering gives it and as the on-disk cache's pack gives it back are the
/// same (the pack is what a check after an edit evaluates from).
fn lowered_pack_target(text: &str) {
    use std::sync::Arc;
    let db = Database::default();
    let file = clanc::db::SourceFile::new(&db, "a.nix".into(), Arc::from(text));
    let budget = Limits::DEFAULT_LOWER_BUDGET;
    let lowered = Arc::clone(clanc::eval::lower_file(&db, file, budget));
    let expected = format!("{lowered:?}");
    let given: clanc::eval::ToWrite<'_> = (text, budget, Box::new(move || lowered));
    let mut bytes = Vec::new();
    clanc::eval::LoweredPack::write([given], None, &mut bytes);
    let pack = clanc::eval::LoweredPack::read(bytes).expect("a pack written reads back");
    let back = pack.find(text, budget).expect("the pack holds the file");
    assert_eq!(format!("{back:?}"), expected, "read back otherwise");
}

fn grammar_target(text: &str) {
    let _ = clanc::model::machine_selector::parse_selector(text);
    let _ = clanc::model::deploy_target::parse_deploy_target(text);
}

fn sops_target(text: &str) {
    let _ = clanc::vars::sops::recipients(text);
    let _ = clanc::vars::sops::decrypt(text, &[age::x25519::Identity::generate()]);
}

/// The whole analysis of a small clan whose one module (or inventory.json) is the input. The
/// clan is given to the database as the loader would give it, without the disk (the loader's
/// own refusals are tested in tests/hostile.rs): a run costs the analysis alone.
fn check_target(text: &str) {
    let _ = analyse_in_memory(text);
}

fn analyse_in_memory(text: &str) -> clanc::analysis::Analysis {
    use std::sync::Arc;
    let flake = r#"{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs = { self, clan-core }:
    let clan = clan-core.lib.clan { inherit self; imports = [ ./clan.nix ]; };
    in { inherit (clan.config) nixosConfigurations; };
}
"#;
    let mut texts = vec![("flake.nix", flake)];
    if text.trim_start().starts_with('{') && text.contains("\"machines\"") {
        texts.push(("clan.nix", "{ meta.name = \"fuzz\"; }"));
        texts.push(("inventory.json", text));
    } else {
        texts.push(("clan.nix", text));
    }
    let db = Database::default();
    let files = texts
        .into_iter()
        .map(|(rel, text)| clanc::db::SourceFile::create(&db, rel.to_string(), Arc::from(text)))
        .collect();
    let inputs = clanc::modules::known::inputs(&db);
    let workspace = clanc::db::Workspace::new(&db, files, Vec::new(), inputs, Vec::new());
    clanc::analysis::analyse(&db, "/fuzz-clan", workspace, true)
}

/// The check target analyses its clan: a module's mistake and inventory.json's are found.
#[test]
fn the_check_target_reads_the_module_and_inventory_json() {
    let codes = |text: &str| -> Vec<String> {
        (analyse_in_memory(text).diagnostics.iter())
            .map(|d| d.code.to_string())
            .collect()
    };
    assert!(
        codes("{ meta.name = \"x\"; inventory.machines.a.tags = 5; }").contains(&"C011".into())
    );
    assert!(codes("{ \"machines\": 5 }").contains(&"C011".into()));
    assert_eq!(codes("{ meta.name = \"x\"; }"), Vec::<String>::new());
}

#[test]
fn the_parser_survives_mutated_nix() {
    let seeds = seed_files(&["fixtures/seed-fleet", "tests/golden"], ".nix");
    fuzz("parse", 1, seeds, 3000, parse_target);
}

#[test]
fn mutated_nix_reads_back_from_a_pack_as_it_was_lowered() {
    let seeds = seed_files(&["fixtures/seed-fleet", "tests/golden"], ".nix");
    fuzz("lowered pack", 7, seeds, 1000, lowered_pack_target);
}

#[test]
fn the_evaluator_survives_mutated_nix() {
    let mut seeds = seed_files(
        &["tests/golden", "fixtures/seed-fleet/modules/clan"],
        ".nix",
    );
    seeds.extend(seeds_of_cases());
    fuzz("eval", 2, seeds, 1500, eval_target);
}

#[test]
fn the_check_survives_mutated_clans_and_inventory_json() {
    let mut seeds = seed_files(&["tests/golden"], "clan.nix");
    seeds.extend(seed_files(&["tests/golden", "tests/hostile"], ".json"));
    seeds.push(
        "{ meta.name = \"x\"; inventory.machines.a.tags = [ \"web\" ]; inventory.instances.s = { module.name = \"sshd\"; roles.server.tags.web = { }; }; }".into(),
    );
    fuzz("check", 3, seeds, 150, check_target);
}

#[test]
fn the_sops_reader_survives_mutated_files() {
    let mut paths = Vec::new();
    files_under(
        &common::repo().join("fixtures/seed-fleet/vars"),
        "secret",
        &mut paths,
    );
    let seeds: Vec<String> = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    fuzz("sops", 4, seeds, 800, sops_target);
}

#[test]
fn the_grammars_survive_mutated_selectors_and_targets() {
    let seeds: Vec<String> = [
        "web-*,@tag,!m1",
        "@all,!@darwin",
        "root@host:22",
        "ssh://admin@[fe80::1%eth0]:2222?ProxyJump=gw&Port=22",
        "user@10.0.0.5?IdentityFile=/k",
        "m1,m2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    fuzz("grammar", 5, seeds, 20_000, grammar_target);
}

/// The expressions of the differential suite's cases (`tests/eval/*.cases`, the lines after a
/// `#== name` header).
fn seeds_of_cases() -> Vec<String> {
    let mut paths = Vec::new();
    files_under(&common::repo().join("tests/eval"), ".cases", &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for case in text.split("#== ").skip(1) {
            let body: String = case.lines().skip(1).collect::<Vec<_>>().join("\n");
            let expr = body.split("\n#-> ").next().unwrap_or("").to_string();
            if !expr.trim().is_empty() {
                out.push(expr);
            }
        }
    }
    out
}
