//! `clanc check` with its on-disk cache (`src/cache`), run as a user runs it (the binary,
//! `--cache-dir` in a temporary directory): an answer from the cache prints byte for byte
//! what a check without the cache prints, for every golden case and check fixture (cold, then
//! warm) and after each kind of edit; a damaged entry, one of another clanc and an
//! unwritable cache change nothing but the speed. The hidden `--cache-stats` says on stderr
//! whether the entry answered and how many files were checked again: the evidence that a warm
//! run is answered from the cache at all, and that an edit the evaluation never read keeps it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const FORMATS: [&str; 3] = ["human", "json", "github"];

/// How a run uses the cache.
#[derive(Clone, Copy)]
enum Cache<'a> {
    Off,
    At(&'a Path),
}

/// One `clanc check`: stdout, stderr without the cache's line and the exit status; and the
/// cache's line without `cache: `, when it printed one.
struct Run {
    printed: String,
    stats: Option<String>,
}

impl Run {
    fn stats(&self) -> &str {
        self.stats.as_deref().unwrap_or("(no cache line)")
    }

    fn json(&self) -> Value {
        let end = (self.printed.find("--- stderr ---\n"))
            .or_else(|| self.printed.find("--- exit status: "))
            .unwrap_or(self.printed.len());
        let stdout = &self.printed[..end];
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {}", self.printed))
    }

    /// The codes of the diagnostics of a JSON run.
    fn codes(&self) -> Vec<String> {
        (self.json()["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default())
        .iter()
        .map(|d| format!("{} {}", d["code"].as_str().unwrap_or("?"), d["file"]))
        .collect()
    }
}

fn clanc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clanc"));
    cmd.env_remove("COLUMNS").env_remove("NO_COLOR");
    cmd
}

/// `clanc check DIR --format FORMAT --color never --no-timing EXTRA` from `cwd`.
fn check_in(cwd: &Path, dir: &Path, format: &str, extra: &[&str], cache: Cache) -> Run {
    let mut cmd = clanc();
    cmd.current_dir(cwd).arg("check").arg(dir);
    cmd.args(["--format", format, "--color", "never", "--no-timing"]);
    cmd.args(extra);
    match cache {
        Cache::Off => cmd.arg("--no-cache"),
        Cache::At(dir) => cmd.arg("--cache-dir").arg(dir).arg("--cache-stats"),
    };
    run(&mut cmd)
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("clanc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut stats = None;
    let mut rest = String::new();
    for line in stderr.lines() {
        match line.strip_prefix("cache: ") {
            Some(s) if stats.is_none() => stats = Some(s.to_string()),
            _ => {
                rest.push_str(line);
                rest.push('\n');
            }
        }
    }
    let mut printed = String::from_utf8_lossy(&out.stdout).into_owned();
    if !rest.is_empty() {
        printed.push_str("--- stderr ---\n");
        printed.push_str(&rest);
    }
    printed.push_str(&format!("--- exit status: {:?} ---\n", out.status.code()));
    Run { printed, stats }
}

fn check(dir: &Path, format: &str, cache: Cache) -> Run {
    check_in(dir, dir, format, &[], cache)
}

/// Checks `dir` without the cache and with it (`cache`) and asserts they print the same;
/// returns the cached run.
fn same(dir: &Path, format: &str, extra: &[&str], cache: &Path) -> Run {
    let plain = check_in(dir, dir, format, extra, Cache::Off);
    let cached = check_in(dir, dir, format, extra, Cache::At(cache));
    assert_eq!(
        cached.printed,
        plain.printed,
        "{}: with the cache ({}) the check printed something else",
        dir.display(),
        cached.stats()
    );
    cached
}

/// Asserts the cache's line of `run` starts with `prefix`.
fn expect_stats(run: &Run, prefix: &str, step: &str) {
    assert!(
        run.stats().starts_with(prefix),
        "{step}: expected `{prefix}...`, the cache said `{}`",
        run.stats()
    );
}

/// An answer by state that read one path again (the edited or touched file) after stating the
/// clan.
fn expect_one_path_read_again(run: &Run, step: &str) {
    assert!(
        run.stats().ends_with(" paths stated, 1 read again"),
        "{step}: expected `... paths stated, 1 read again`, the cache said `{}`",
        run.stats()
    );
}

/// A copy of the clan at `from` (relative to the repository) in a temporary directory.
fn scratch(from: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("clan");
    common::copy_dir(&common::repo().join(from), &dir);
    (tmp, dir)
}

// --- the goldens and fixtures, cold then warm ---------------------------------------------

/// Whether a clan's files were written more than 2 s before it is checked (the repository's
/// own), so that the cache trusts their state (`cache::snapshot`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Settled {
    Yes,
    No,
}

/// Runs one case: per format a check without the cache, then two with it (the first format's
/// first run is cold: its entry must be written; every second run is warm: a hit), each
/// printing exactly what the check without the cache printed.
fn cold_then_warm(
    cwd: &Path,
    dir: &Path,
    formats: &[&str],
    extra: &[&str],
    settled: Settled,
) -> Vec<String> {
    let mut failures = Vec::new();
    let cache = tempfile::tempdir().expect("temp dir");
    for (i, format) in formats.iter().enumerate() {
        let plain = check_in(cwd, dir, format, extra, Cache::Off);
        let cold = check_in(cwd, dir, format, extra, Cache::At(cache.path()));
        let warm = check_in(cwd, dir, format, extra, Cache::At(cache.path()));
        let name = format!("{} ({format})", cwd.join(dir).display());
        for (run, when) in [(&cold, "cold"), (&warm, "warm")] {
            if run.printed != plain.printed {
                let diff = similar::TextDiff::from_lines(&plain.printed, &run.printed)
                    .unified_diff()
                    .header("without the cache", when)
                    .to_string();
                failures.push(format!("{name}, {when} ({}):\n{diff}", run.stats()));
            }
        }
        // A clan that does not load prints its error before the cache is asked.
        let loads = !plain.printed.contains("--- exit status: Some(2) ---");
        if !loads {
            continue;
        }
        if i == 0 && !cold.stats().starts_with("miss (no entry), entry written;") {
            failures.push(format!("{name}: the cold run said `{}`", cold.stats()));
        }
        // The repository's files are older than the 2 s a fresh state is not trusted: a
        // warm run of them is answered without reading them.
        let stated = settled == Settled::No || warm.stats().contains("; answered by state: ");
        if !(warm.stats().starts_with("hit, 0 of ") && stated) {
            failures.push(format!("{name}: the warm run said `{}`", warm.stats()));
        }
    }
    failures
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn every_golden_case_prints_the_same_cold_and_warm() {
    let cases = subdirs(&common::repo().join("tests/golden"));
    assert!(cases.len() >= 30, "the golden cases are there");
    let mut failures = Vec::new();
    for case in &cases {
        let empty = tempfile::tempdir().expect("temp dir");
        let (input, settled) = if case.join("input").exists() {
            (PathBuf::from("input"), Settled::Yes)
        } else {
            (empty.path().to_path_buf(), Settled::No)
        };
        let extra: Vec<String> = std::fs::read_to_string(case.join("args"))
            .map(|a| a.lines().map(str::to_string).collect())
            .unwrap_or_default();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        failures.extend(cold_then_warm(case, &input, &FORMATS, &extra, settled));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_check_fixture_prints_the_same_cold_and_warm() {
    let repo = common::repo();
    let mut clans = subdirs(&repo.join("fixtures/mistakes"));
    clans.extend(subdirs(&repo.join("fixtures/shapes")));
    clans.push(repo.join("fixtures/seed-fleet"));
    assert!(clans.len() >= 50, "the fixtures are there");
    let mut failures = Vec::new();
    for clan in &clans {
        failures.extend(cold_then_warm(
            clan,
            Path::new("."),
            &["json", "human"],
            &[],
            Settled::Yes,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// --- edits ---------------------------------------------------------------------------------

/// Edits of a small clan (`tests/golden/unread-files`: a machine module, a file kept
/// encrypted with sops, files nothing imports): after each, the cached check prints what a
/// check without the cache prints, from the cache when the edit is one the evaluation never
/// read.
#[test]
fn edits_the_evaluation_never_read_keep_the_entry_and_others_do_not() {
    let (_tmp, clan) = scratch("tests/golden/unread-files/input");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    let write = |rel: &str, text: &str| {
        let path = clan.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };

    let first = same(&clan, "json", &[], cache);
    expect_stats(&first, "miss (no entry), entry written", "cold");
    let codes = first.codes();
    assert!(
        codes.contains(&"N001 \"scratch/notes.nix\"".to_string()),
        "{codes:?}"
    );
    expect_stats(
        &same(&clan, "json", &[], cache),
        "hit, 0 of 8 files",
        "no change",
    );

    // (a) a file the evaluation never read: its syntax error goes, from the cache
    write("scratch/notes.nix", "{ pkgs, ... }: { }\n");
    let run = same(&clan, "json", &[], cache);
    expect_stats(
        &run,
        "hit, 1 of 8 files checked again, entry written",
        "scratch edited",
    );
    assert!(
        !run.codes()
            .contains(&"N001 \"scratch/notes.nix\"".to_string())
    );
    expect_stats(&same(&clan, "human", &[], cache), "hit, 0 of 8", "again");

    // (d) a file added where the evaluation never looks, and one deleted
    write("scratch/later.nix", "{ a = ; }\n");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "hit, 1 of 9 files checked again", "file added");
    assert!(
        run.codes()
            .contains(&"N001 \"scratch/later.nix\"".to_string())
    );
    std::fs::remove_file(clan.join("templates/new-machine/configuration.nix")).expect("rm");
    let run = same(&clan, "json", &[], cache);
    expect_stats(
        &run,
        "hit, 0 of 8 files checked again, entry written",
        "file deleted",
    );
    assert!(
        !(run.codes().iter()).any(|c| c.contains("templates/")),
        "{:?}",
        run.codes()
    );

    // (b) a file the evaluation read: the model is built again, and reports what changed
    let meta = "modules/clan/meta.nix";
    let before = std::fs::read_to_string(clan.join(meta)).expect("read");
    write(
        meta,
        &before.replace(
            "clan.meta.name = \"beacon\";",
            "clan.meta.name = \"beacon\";\n  clan.inventory.instances.x = { module.name = \"sshd\"; roles.server.machines.ghost = { }; };",
        ),
    );
    let run = same(&clan, "json", &[], cache);
    expect_stats(
        &run,
        "miss (what the evaluation read changed: ",
        "model edit",
    );
    assert!(run.stats().contains(meta), "{}", run.stats());
    assert!(
        run.codes().contains(&format!("C001 \"{meta}\"")),
        "{:?}",
        run.codes()
    );
    expect_stats(
        &same(&clan, "json", &[], cache),
        "hit, 0 of",
        "after the model edit",
    );

    // a syntax error in a file the evaluation reads (the model reports it too: once)
    write(meta, &before.replace("\"beacon\";", "\"beacon\""));
    let run = same(&clan, "human", &[], cache);
    expect_stats(
        &run,
        "miss (what the evaluation read changed",
        "syntax error",
    );
    assert!(
        run.printed.contains("× "),
        "an error, not information: {}",
        run.printed
    );
    expect_stats(
        &same(&clan, "github", &[], cache),
        "hit, 0 of",
        "syntax error kept",
    );
    write(meta, &before);
    expect_stats(&same(&clan, "json", &[], cache), "miss (", "mended");

    // a new module where the flake imports a directory (import-tree lists `modules/`)
    write(
        "modules/extra.nix",
        "{ clan.meta.description = \"more\"; }\n",
    );
    let run = same(&clan, "json", &[], cache);
    expect_stats(
        &run,
        "miss (what the evaluation read changed: ",
        "module added",
    );
    assert!(
        run.stats().contains("/clan/modules), entry written;"),
        "{}",
        run.stats()
    );
}

/// How many Nix files a miss took lowered from the cache, and how many it lowered, from its
/// line; `None` when the cache held no lowered files.
fn taken_lowered(run: &Run) -> Option<(usize, usize)> {
    let stats = run.stats();
    let last = stats.rsplit("; ").next().unwrap_or_default();
    if last == "no lowered files in the cache" {
        return None;
    }
    let counts = (last.split_once(" Nix files taken lowered from the cache, "))
        .and_then(|(taken, rest)| Some((taken.parse().ok()?, rest.strip_suffix(" lowered")?)))
        .and_then(|(taken, lowered)| Some((taken, lowered.parse().ok()?)));
    Some(counts.unwrap_or_else(|| panic!("no count of files taken lowered: {stats}")))
}

#[test]
fn a_check_after_an_edit_lowers_only_the_edited_files_and_a_damaged_pack_changes_nothing() {
    let (_tmp, clan) = scratch("tests/golden/unread-files/input");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    let meta = clan.join("modules/clan/meta.nix");
    let text = std::fs::read_to_string(&meta).expect("read");
    let mut edits = 0;
    // a new name each time: the model changes (a comment would leave it as it was, and the
    // entry would answer without evaluating)
    let mut edit = || {
        edits += 1;
        let renamed = text.replace("\"beacon\";", &format!("\"beacon{edits}\";"));
        assert_ne!(renamed, text, "the meta name is in the file");
        std::fs::write(&meta, renamed).expect("write");
    };
    let first = same(&clan, "json", &[], cache);
    assert_eq!(
        taken_lowered(&first),
        None,
        "nothing to take on the first check"
    );
    let pack = std::fs::read_dir(cache)
        .expect("the cache directory")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "lowered"))
        .expect("the lowered files are kept beside the entry");

    // a file the evaluation reads edited: the model is built again from every other file
    // as lowered before, and prints what a check without the cache prints
    edit();
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (what the evaluation read changed", "edit");
    let (taken, lowered) = taken_lowered(&run).expect("lowered files in the cache");
    assert_eq!(
        lowered,
        1,
        "only the edited file is lowered: {}",
        run.stats()
    );
    assert!(
        taken > 6,
        "the clan's other files and clanc's modules: {taken}"
    );
    edit();
    let run = same(&clan, "human", &[], cache);
    assert_eq!(taken_lowered(&run), Some((taken, 1)), "{}", run.stats());

    // damaged (a byte of the body changed, or cut short): nothing taken, the same output,
    // and the lowered files written again
    let good = std::fs::read(&pack).expect("the pack");
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    for (damage, bytes) in [
        ("flipped", flipped),
        ("cut", good[..good.len() / 2].to_vec()),
    ] {
        std::fs::write(&pack, bytes).expect("write");
        edit();
        let run = same(&clan, "json", &[], cache);
        assert_eq!(taken_lowered(&run), None, "{damage}: {}", run.stats());
        edit();
        let run = same(&clan, "json", &[], cache);
        assert_eq!(
            taken_lowered(&run),
            Some((taken, 1)),
            "{damage}: {}",
            run.stats()
        );
    }
}

/// The line of the first diagnostic of a JSON run.
fn first_line(run: &Run) -> u64 {
    run.json()["diagnostics"][0]["line"]
        .as_u64()
        .unwrap_or_else(|| panic!("no diagnostic: {}", run.printed))
}

/// An edit of a file the evaluation imported that cannot change the model (comments, code it
/// never entered) is answered from the entry, the diagnostics' spans moved with the text; an
/// edit of code it used, and a damaged file of kept code, build the model again. Every step
/// prints what a check without the cache prints (`same`).
#[test]
fn an_edit_the_model_does_not_see_is_answered_from_the_entry_with_its_spans_moved() {
    let (_tmp, clan) = scratch("fixtures/mistakes/C001-unknown-machine");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    let edit = |file: &str, from: &str, to: &str| {
        let path = clan.join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} holds {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    };
    let hit = "hit, 1 of 11 files checked again (1 read by the evaluation, edited where it leaves the model as it was), entry written";
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (no entry)", "cold");
    assert_eq!(first_line(&run), 12, "C001 at `cinabar`");

    // two comment lines above the diagnostic: it moves down two lines
    let zerotier = "modules/inventory/zerotier.nix";
    edit(zerotier, "{\n", "# a\n# b\n{\n");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, hit, "comments");
    assert_eq!(first_line(&run), 14, "{}", run.printed);
    expect_stats(&same(&clan, "human", &[], cache), "hit, 0 of 11", "after");

    // a machine's option clanc never evaluates, in another file
    let galena = "modules/machines/galena.nix";
    edit(galena, "fsType = \"ext4\";", "fsType = \"ext\" + \"4\";");
    expect_stats(&same(&clan, "github", &[], cache), hit, "unentered code");

    // code the evaluation used: the model is built again
    edit(galena, "\"x86_64-linux\"", "\"aarch64-linux\"");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (what the evaluation read changed: ", "platform");
    assert!(run.stats().contains(galena), "{}", run.stats());
    edit(zerotier, "cinabar", "cinnabarr");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (what the evaluation read changed: ", "role");
    assert!(run.printed.contains("cinnabarr"), "{}", run.printed);

    // after a miss the kept code is written again: a comment is a hit once more
    edit(zerotier, "# a\n", "# a, longer\n");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, hit, "comment after the miss");
    assert_eq!(first_line(&run), 14, "{}", run.printed);

    // the kept code damaged (a byte changed, or cut short): the model is built again
    let kept = entry_file(cache).with_extension("code");
    let good = std::fs::read(&kept).expect("the code is kept beside the entry");
    let mut flipped = good.clone();
    let last = flipped.len() - 2;
    flipped[last] ^= 1;
    for (i, (damage, bytes)) in [
        ("flipped", flipped),
        ("cut", good[..good.len() / 2].to_vec()),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(&kept, bytes).expect("write");
        edit(zerotier, "# a", &format!("# a{i}"));
        let run = same(&clan, "json", &[], cache);
        expect_stats(&run, "miss (what the evaluation read changed: ", damage);
    }

    // the clan's state trusted: such an edit is answered without loading the clan, only the
    // edited file read again; an edit of code the evaluation used still builds the model
    trusted(&clan, cache, "settled");
    edit(zerotier, "# a", "# a, by state");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, hit, "by state");
    expect_one_path_read_again(&run, "by state");
    assert_eq!(first_line(&run), 14, "{}", run.printed);
    trusted(&clan, cache, "settled again");
    edit(zerotier, "cinnabarr", "cinnabar");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (what the evaluation read changed: ", "fixed");
    assert_eq!(
        run.json()["diagnostics"],
        serde_json::json!([]),
        "{}",
        run.printed
    );
    // that check ran right after the edit: it kept the clan's state with the edited file's
    // as untrusted (changed less than 2 s before), so the next check states the clan and
    // reads that file alone
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "hit, 0 of 11 files checked again", "unchanged since");
    expect_one_path_read_again(&run, "unchanged since");
}

/// Options that change the diagnostics (`--explain-unknown`: N000 notes) are part of the entry.
#[test]
fn an_entry_is_of_the_options_it_was_written_with() {
    let (_tmp, clan) = scratch("tests/golden/tag-element-unknown/input");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    expect_stats(&same(&clan, "human", &[], cache), "miss (no entry)", "cold");
    let run = same(&clan, "human", &["--explain-unknown"], cache);
    expect_stats(
        &run,
        "miss (the entry is another clanc's, or of other options)",
        "N000",
    );
    assert!(run.printed.contains("N000"), "{}", run.printed);
    expect_stats(
        &same(&clan, "json", &["--explain-unknown"], cache),
        "hit",
        "N000",
    );
    expect_stats(
        &same(&clan, "human", &[], cache),
        "miss (the entry is another",
        "none",
    );
}

/// (c) The sops facts a check reads from disk beside the model: a secret var's recipients
/// (the vars tree), a legacy sops-nix file, the vars directories.
#[test]
fn edits_of_vars_and_sops_files_are_seen() {
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();

    // a recipient removed from a secret var linked to its user: V005
    let (_tmp, clan) = scratch("fixtures/seed-fleet");
    expect_stats(&same(&clan, "json", &[], cache), "miss (no entry)", "cold");
    expect_stats(&same(&clan, "json", &[], cache), "hit, 0 of", "warm");
    remove_a_recipient(&clan);
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (the sops files changed)", "recipient removed");
    assert!(
        (run.codes().iter()).any(|c| c.starts_with("V005")),
        "{:?}",
        run.codes()
    );
    expect_stats(
        &same(&clan, "json", &[], cache),
        "hit, 0 of",
        "recipient removed",
    );

    // the vars directory of a generator that had none: V003 goes
    let (_tmp3, clan) = scratch("fixtures/mistakes/V003-missing-var-file");
    let run = same(&clan, "json", &[], cache);
    assert!(
        (run.codes().iter()).any(|c| c.starts_with("V003")),
        "{:?}",
        run.codes()
    );
    expect_stats(&same(&clan, "json", &[], cache), "hit, 0 of", "warm");
    let dir = clan.join("vars/per-machine/nimbus/healthchecks-url/url");
    std::fs::create_dir_all(dir).expect("mkdir");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (the vars directories changed)", "vars dir made");
    assert!(
        !(run.codes().iter()).any(|c| c.starts_with("V003")),
        "{:?}",
        run.codes()
    );

    // a legacy sops-nix file the model names, deleted: S001
    let (_tmp2, clan) = scratch("tests/golden/sops-self/input");
    expect_stats(&same(&clan, "json", &[], cache), "miss (no entry)", "cold");
    expect_stats(&same(&clan, "json", &[], cache), "hit, 0 of", "warm");
    std::fs::remove_file(clan.join("secrets/web.yaml")).expect("rm");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (the sops files changed)", "sops file deleted");
    assert!(
        (run.codes().iter()).any(|c| c.starts_with("S001")),
        "{:?}",
        run.codes()
    );
    // a machine's key changed: its files are no longer encrypted for it
    let key = clan.join("sops/machines/web/key.json");
    let user: Value = read_json(&clan.join("sops/users/ops/key.json"));
    std::fs::write(&key, serde_json::to_string(&user).expect("json")).expect("write");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "miss (the sops files changed)", "machine key changed");
}

// --- an unchanged clan, answered without reading it --------------------------------------

/// Checks until the entry answers without reading the clan: once the files written so far are
/// older than the cache's 2 s during which a state is not trusted (`cache::snapshot`), a
/// check takes the clan's state into the entry (unless the last one could already: what
/// changed was no file the loader reads), and the next is answered from it.
fn trusted(clan: &Path, cache: &Path, step: &str) {
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let mut run = same(clan, "json", &[], cache);
    if !run.stats().contains("; answered by state: ") {
        assert!(
            run.stats().contains("entry written"),
            "{step}: the clan's state is kept: {}",
            run.stats()
        );
        run = same(clan, "json", &[], cache);
    }
    assert!(
        run.stats().contains("; answered by state: "),
        "{step}: answered without reading the clan: {}",
        run.stats()
    );
}

/// After each edit the check reads the clan again: the entry's snapshot does not answer.
fn read_again(run: &Run, step: &str) {
    assert!(
        !run.stats().contains("answered by state"),
        "{step}: the edit went unseen: {}",
        run.stats()
    );
}

/// An unchanged clan is answered from its entry by stating the paths the loader read
/// (nothing is read but the texts the diagnostics show); a file the evaluation read from
/// outside the workspace, a rewrite that keeps the size and modification time, and a file
/// added are each seen, and the check prints what a check without the cache prints.
#[test]
fn an_unchanged_clan_is_answered_by_stating_it_and_every_edit_is_seen() {
    let (_tmp, clan) = scratch("tests/golden/unread-files/input");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    let meta = clan.join("modules/clan/meta.nix");
    std::fs::write(
        &meta,
        r#"{
  clan.meta.name = "beacon";
  clan.inventory.machines.beacon.deploy.targetHost = "root@beacon.example.org";
  clan.inventory.instances.x = {
    module.name = "sshd";
    roles.server.machines = builtins.fromJSON (builtins.readFile ../../servers.json);
  };
}
"#,
    )
    .expect("write");
    let servers = clan.join("servers.json");
    std::fs::write(&servers, r#"{"beacon": {}}"#).expect("write");
    expect_stats(&same(&clan, "json", &[], cache), "miss (no entry)", "cold");
    trusted(&clan, cache, "cold");

    // a file only the evaluation reads (no file of the workspace): a role names a ghost
    std::fs::write(&servers, r#"{"ghost": {}}"#).expect("write");
    let run = same(&clan, "json", &[], cache);
    read_again(&run, "servers.json");
    expect_stats(
        &run,
        "miss (what the evaluation read changed: ",
        "servers.json",
    );
    assert!(
        (run.codes().iter()).any(|c| c.starts_with("C001")),
        "{:?}",
        run.codes()
    );
    trusted(&clan, cache, "servers.json");

    // the same size and modification time, another text: the change time tells (a file no
    // diagnostic points into, whose text the answer would not read)
    let machine = clan.join("modules/machines/beacon.nix");
    let before = std::fs::metadata(&machine).expect("stat");
    let text = std::fs::read_to_string(&machine).expect("read");
    std::fs::write(&machine, text.replace("decrypted", "DECRYPTED")).expect("write");
    std::fs::File::options()
        .write(true)
        .open(&machine)
        .and_then(|f| f.set_modified(before.modified()?))
        .expect("set the modification time back");
    let after = std::fs::metadata(&machine).expect("stat");
    assert_eq!(
        (after.len(), after.modified().ok()),
        (before.len(), before.modified().ok())
    );
    let run = same(&clan, "json", &[], cache);
    // (the word is in a comment: the file is read again and its edit leaves the model as it
    // was, so the entry answers without loading the clan)
    expect_stats(
        &run,
        "hit, 1 of 8 files checked again (1 read by the evaluation, edited",
        "same size and time",
    );
    expect_one_path_read_again(&run, "same size and time");
    trusted(&clan, cache, "same size and time");

    // a file added where nothing reads it: its syntax error is reported
    std::fs::write(clan.join("scratch/later.nix"), "{ a = ; }\n").expect("write");
    let run = same(&clan, "json", &[], cache);
    read_again(&run, "file added");
    expect_stats(&run, "hit, 1 of 9 files checked again", "file added");
    assert!(
        run.codes()
            .contains(&"N001 \"scratch/later.nix\"".to_string())
    );
    trusted(&clan, cache, "file added");

    // a file the evaluation never reads, edited in place: it alone is read again and checked
    // again, and its syntax error goes
    let notes = clan.join("scratch/notes.nix");
    std::fs::write(&notes, "{ pkgs, ... }: { }\n").expect("write");
    let run = same(&clan, "json", &[], cache);
    expect_stats(
        &run,
        "hit, 1 of 9 files checked again, entry written",
        "unread file edited",
    );
    expect_one_path_read_again(&run, "unread file edited");
    assert!(
        !run.codes()
            .contains(&"N001 \"scratch/notes.nix\"".to_string()),
        "{:?}",
        run.codes()
    );
    // touched: read again, the same text, nothing checked again
    std::fs::File::options()
        .write(true)
        .open(&notes)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .expect("touch");
    let run = same(&clan, "json", &[], cache);
    expect_stats(&run, "hit, 0 of 9 files checked again", "touched");
    expect_one_path_read_again(&run, "touched");
}

/// The sops files are part of the state: a secret var's recipients and a legacy sops-nix file
/// changed after the state was taken are seen.
#[test]
fn an_unchanged_clans_sops_files_are_stated_too() {
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    let (_tmp, fleet) = scratch("fixtures/seed-fleet");
    let (_tmp2, sops_self) = scratch("tests/golden/sops-self/input");
    expect_stats(&same(&fleet, "json", &[], cache), "miss (no entry)", "cold");
    expect_stats(
        &same(&sops_self, "json", &[], cache),
        "miss (no entry)",
        "cold",
    );
    trusted(&fleet, cache, "fleet");
    trusted(&sops_self, cache, "sops-self");

    remove_a_recipient(&fleet);
    let run = same(&fleet, "json", &[], cache);
    read_again(&run, "recipient removed");
    assert!(
        (run.codes().iter()).any(|c| c.starts_with("V005")),
        "{:?}",
        run.codes()
    );

    // a legacy sops-nix file (no file the loader reads: only the sops facts read it) given
    // the key `smtp/pasword` a machine asks for: its S002 goes
    let web = sops_self.join("secrets/web.yaml");
    let s002 = |run: &Run| {
        (run.codes().iter())
            .filter(|c| c.starts_with("S002"))
            .count()
    };
    let before = s002(&same(&sops_self, "json", &[], cache));
    let text = std::fs::read_to_string(&web).expect("read");
    let renamed = text.replacen(
        "    password: ENC[AES256_GCM,data:Z42",
        "    pasword: ENC[AES256_GCM,data:Z42",
        1,
    );
    assert_ne!(renamed, text);
    std::fs::write(&web, renamed).expect("write");
    let run = same(&sops_self, "json", &[], cache);
    read_again(&run, "legacy file's key renamed");
    assert_eq!(s002(&run), before - 1, "{:?}", run.codes());
}

/// A change made to an entry's JSON body.
type Forgery = dyn Fn(&mut Value);

/// An entry whose state of the clan is forged (a path leaving the clan, a bad byte's offset
/// inside a character) is never answered from: the check loads the clan and prints what a
/// check without the cache prints.
#[test]
fn a_damaged_snapshot_is_not_answered_from() {
    let (_tmp, clan) = scratch("tests/golden/not-utf8/input");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    let root = std::fs::canonicalize(&clan).expect("canonical");
    let root = root.to_string_lossy().into_owned();
    same(&clan, "human", &[], cache);
    trusted(&clan, cache, "cold");
    let store = clanc::cache::Store::at(cache);
    let body: Value = serde_json::from_slice(&store.read(&root).expect("the entry reads back"))
        .expect("the body is JSON");
    assert!(
        body["snapshot"]["not_utf8"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "the clan has a file that is not UTF-8: {}",
        body["snapshot"]["not_utf8"]
    );
    let forgeries: [(&str, &Forgery); 2] = [
        ("a bad byte inside a character", &|b| {
            let offset = &mut b["snapshot"]["not_utf8"][0][1];
            *offset = (offset.as_u64().expect("an offset") + 1).into();
        }),
        ("a path leaving the clan", &|b| {
            b["snapshot"]["paths"][1][0] = "../../etc".into();
        }),
    ];
    for (what, forge) in forgeries {
        let mut forged = body.clone();
        forge(&mut forged);
        store
            .write(&root, &serde_json::to_vec(&forged).expect("json"))
            .expect("write");
        let run = same(&clan, "human", &[], cache);
        read_again(&run, what);
    }
}

/// Removes the user `crs58` from the recipients of a secret var of a copy of the seed fleet
/// (which links the secret to that user: V005).
fn remove_a_recipient(fleet: &Path) {
    let secret = fleet.join("vars/per-machine/cinnabar/borgbackup/borgbackup.repokey/secret");
    let key: Value = read_json(&fleet.join("sops/users/crs58/key.json"));
    let mut sops: Value = read_json(&secret);
    let age = sops["sops"]["age"].as_array_mut().expect("age recipients");
    let count = age.len();
    age.retain(|r| r["recipient"] != key["publickey"]);
    assert_eq!(age.len(), count - 1, "the user was a recipient");
    std::fs::write(&secret, serde_json::to_string_pretty(&sops).expect("json")).expect("write");
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// --- damaged entries, other binaries, unwritable caches -----------------------------------

/// The one entry file of a cache directory.
fn entry_file(cache: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(cache)
        .expect("the cache directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(files.len(), 1, "one entry: {files:?}");
    files[0].clone()
}

/// A way of damaging an entry.
type Damage = Box<dyn Fn()>;

#[test]
fn a_damaged_entry_is_a_miss_and_is_replaced() {
    let (_tmp, clan) = scratch("tests/golden/unread-files/input");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    let root = std::fs::canonicalize(&clan).expect("canonical");
    let root = root.to_string_lossy();
    expect_stats(&same(&clan, "human", &[], cache), "miss (no entry)", "cold");
    let path = entry_file(cache);
    let good = std::fs::read(&path).expect("entry");
    let store = clanc::cache::Store::at(cache);
    let body: Value = serde_json::from_slice(&store.read(&root).expect("the entry reads back"))
        .expect("the body is JSON");

    let mut damages: Vec<(&str, Damage)> = vec![
        ("truncated", {
            let (p, g) = (path.clone(), good.clone());
            Box::new(move || std::fs::write(&p, &g[..g.len() / 2]).expect("write"))
        }),
        ("garbage", {
            let p = path.clone();
            Box::new(move || std::fs::write(&p, [0xffu8, 0, 17, b'\n', b'{']).expect("write"))
        }),
        ("empty", {
            let p = path.clone();
            Box::new(move || std::fs::write(&p, b"").expect("write"))
        }),
        ("a directory", {
            let p = path.clone();
            Box::new(move || {
                std::fs::remove_file(&p).expect("rm");
                std::fs::create_dir(&p).expect("mkdir");
            })
        }),
        ("too large", {
            let p = path.clone();
            Box::new(move || {
                let file = std::fs::File::create(&p).expect("create");
                file.set_len(clanc::cache::MAX_ENTRY_BYTES + 1)
                    .expect("sparse file");
            })
        }),
    ];
    // Entries whose frame holds but whose content does not: written through the store.
    let forged = |change: &dyn Fn(&mut Value)| {
        let mut body = body.clone();
        change(&mut body);
        serde_json::to_vec(&body).expect("json")
    };
    let forgeries = [
        ("not an entry", b"{\"files\": 3}".to_vec()),
        (
            "a span past the end of its file",
            forged(&|b| b["model"]["diagnostics"] = span_past_the_end()),
        ),
        (
            "an unknown code",
            forged(&|b| {
                let files = b["files"].as_array_mut().expect("files");
                let file = (files.iter_mut())
                    .find(|f| f["diagnostics"].as_array().is_some_and(|d| !d.is_empty()))
                    .expect("a file with a diagnostic");
                file["diagnostics"][0]["code"] = "X001".into();
            }),
        ),
        (
            "another version",
            forged(&|b| b["identity"]["version"] = "0.0.1".into()),
        ),
        ("another root", forged(&|b| b["root"] = "/elsewhere".into())),
        (
            "a file its diagnostics show, of another text",
            forged(&|b| b["model"]["span_files"] = serde_json::json!([["flake.nix", "00"]])),
        ),
    ];
    for (what, body) in forgeries {
        let (store, root) = (store.clone(), root.to_string());
        damages.push((
            what,
            Box::new(move || store.write(&root, &body).expect("write")),
        ));
    }
    for (what, damage) in &damages {
        damage();
        let run = same(&clan, "human", &[], cache);
        expect_stats(&run, "miss (", what);
        if *what == "a directory" {
            // nothing can replace a directory: still no entry, still the right output
            expect_stats(&run, "miss (no entry), entry not written (", what);
            std::fs::remove_dir(&path).expect("rmdir");
            expect_stats(
                &same(&clan, "human", &[], cache),
                "miss (no entry), entry written",
                what,
            );
        }
        expect_stats(&same(&clan, "human", &[], cache), "hit, 0 of", what);
    }
}

/// A diagnostic list whose one span ends past the end of `flake.nix`.
fn span_past_the_end() -> Value {
    serde_json::json!([{
        "code": "C001",
        "severity": "error",
        "message": "forged",
        "span": ["flake.nix", 0, 1_000_000]
    }])
}

#[test]
fn an_entry_of_another_clanc_is_not_used() {
    let (tmp, clan) = scratch("tests/golden/unread-files/input");
    let cache = tempfile::tempdir().expect("temp dir");
    let cache = cache.path();
    expect_stats(&same(&clan, "json", &[], cache), "miss (no entry)", "cold");
    // a copy of the binary is a newer file: another build, as far as the cache can tell
    let other = tmp.path().join("clanc-copy");
    std::fs::copy(env!("CARGO_BIN_EXE_clanc"), &other).expect("copy the binary");
    let plain = check(&clan, "json", Cache::Off);
    let mut cmd = Command::new(&other);
    cmd.current_dir(&clan).arg("check").arg(&clan);
    cmd.args([
        "--format",
        "json",
        "--color",
        "never",
        "--no-timing",
        "--cache-stats",
    ]);
    cmd.arg("--cache-dir").arg(cache);
    let run = run(&mut cmd);
    assert_eq!(run.printed, plain.printed);
    expect_stats(&run, "miss (the entry is another clanc's", "other binary");
}

#[test]
fn an_unwritable_cache_is_no_cache() {
    let (tmp, clan) = scratch("tests/golden/unread-files/input");
    // a regular file where the cache directory's parent should be (root ignores modes)
    let blocker = tmp.path().join("not-a-directory");
    std::fs::write(&blocker, "").expect("write");
    let cache = blocker.join("clanc");
    for format in FORMATS {
        let run = same(&clan, format, &[], &cache);
        expect_stats(&run, "miss (no entry), entry not written (", "unwritable");
    }
}

#[test]
fn the_cache_lives_under_xdg_cache_home_else_home_else_nowhere() {
    let (tmp, clan) = scratch("tests/golden/unread-files/input");
    let plain = check(&clan, "json", Cache::Off);
    let with_env = |vars: &[(&str, &Path)]| {
        let mut cmd = clanc();
        cmd.current_dir(&clan)
            .args(["check", ".", "--format", "json"]);
        cmd.args(["--color", "never", "--no-timing", "--cache-stats"]);
        cmd.env_remove("XDG_CACHE_HOME").env_remove("HOME");
        for (name, value) in vars {
            cmd.env(name, value);
        }
        let run = run(&mut cmd);
        assert_eq!(run.printed, plain.printed);
        run
    };
    let xdg = tmp.path().join("xdg");
    let home = tmp.path().join("home");
    let run = with_env(&[("XDG_CACHE_HOME", &xdg), ("HOME", &home)]);
    expect_stats(&run, "miss (no entry), entry written", "xdg");
    entry_file(&xdg.join("clanc"));
    assert!(!home.exists());
    let run = with_env(&[("HOME", &home)]);
    expect_stats(&run, "miss (no entry), entry written", "home");
    entry_file(&home.join(".cache/clanc"));
    let run = with_env(&[("HOME", &home)]);
    expect_stats(&run, "hit", "home, warm");
    expect_stats(&with_env(&[]), "off", "neither");
    let run = with_env(&[("XDG_CACHE_HOME", Path::new("relative"))]);
    expect_stats(&run, "off", "a relative XDG_CACHE_HOME");
}

/// An entry keeps diagnostics, paths and digests: no text of the clan's files and nothing
/// of its secrets; beside it only Nix code (lowered, and the texts the evaluation imported).
#[test]
fn an_entry_holds_no_file_text_and_no_secret() {
    let (_tmp, clan) = scratch("tests/golden/sops-self/input");
    let cache = tempfile::tempdir().expect("temp dir");
    expect_stats(&same(&clan, "json", &[], cache.path()), "miss", "cold");
    let entry = std::fs::read_to_string(entry_file(cache.path())).expect("entry");
    let admin = std::fs::read_to_string(clan.join("TEST-ONLY-admin-age-key.txt")).expect("key");
    let secret_key = (admin.lines())
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .expect("a secret key");
    assert!(!entry.contains(secret_key));
    let web: String = std::fs::read_to_string(clan.join("secrets/web.yaml")).expect("sops file");
    for line in web.lines().filter(|l| l.contains("ENC[")) {
        let value = line.split("ENC[").nth(1).unwrap_or_default();
        assert!(!entry.contains(value), "an encrypted value is in the entry");
    }
    let recipient = read_json(&clan.join("sops/machines/web/key.json"))[0]["publickey"]
        .as_str()
        .expect("a public key")
        .to_string();
    assert!(
        !entry.contains(&recipient),
        "sops facts are kept as a digest"
    );
    let flake = std::fs::read_to_string(clan.join("flake.nix")).expect("flake.nix");
    let description = (flake.lines())
        .find(|l| l.contains("description"))
        .expect("a description");
    assert!(!entry.contains(description.trim()));
    // Beside it, the lowered files hold what the clan's Nix files say (names, literals) and
    // the kept code the texts of the Nix files the evaluation imported (flake.nix among
    // them): nothing of the files that are not Nix, no key, no encrypted value, no recipient.
    let kept = std::fs::read(entry_file(cache.path()).with_extension("code")).expect("kept");
    assert!(
        String::from_utf8_lossy(&kept).contains("description"),
        "flake.nix is kept"
    );
    for beside in ["lowered", "code"] {
        let bytes = std::fs::read(entry_file(cache.path()).with_extension(beside))
            .unwrap_or_else(|e| panic!("the {beside} file: {e}"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(secret_key), "{beside}");
        for line in web.lines().filter(|l| l.contains("ENC[")) {
            let value = line.split("ENC[").nth(1).unwrap_or_default();
            assert!(
                !text.contains(value),
                "an encrypted value is in the {beside} file"
            );
        }
        assert!(!text.contains(&recipient), "{beside}");
    }
}
