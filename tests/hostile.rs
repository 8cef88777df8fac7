//! Hostile inputs (issue 25): each case of `tests/hostile/` (and the large ones, generated
//! here) run through `check`, `inventory`, `plan` and `eval` as separate processes, each held
//! to generous bounds that catch runaway: a hang, gigabytes of memory, a silent exit. The
//! bounds are far above what the cases take (they are no benchmarks): the issue asks for 2 s
//! and 512 MB from a release build; these tests run a debug build, hence the wider time.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// Wall time one command may take (a debug build, on a loaded machine).
const TIME_BOUND: Duration = Duration::from_secs(30);
/// Peak resident memory one command may use.
const MEMORY_BOUND_KB: i64 = 512 * 1024;

fn data() -> PathBuf {
    common::repo().join("tests/hostile")
}

/// One finished command.
struct Run {
    what: String,
    /// The exit status (`None`: killed by a signal).
    status: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    peak_rss_kb: i64,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "{}: status {:?} in {:?}, {} KB\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.status,
            self.elapsed,
            self.peak_rss_kb,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }

    /// The diagnostics of `check --format json`.
    fn diagnostics(&self) -> Vec<Json> {
        let json: Json = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("check --format json printed JSON ({e}): {}", self.text()));
        json["diagnostics"].as_array().cloned().unwrap_or_default()
    }
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(4000);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Runs clanc with `args` in `cwd`, killing it past the time bound or when its memory passes
/// four times the memory bound (so that a runaway case fails instead of taking the machine),
/// and asserts both bounds.
fn clanc(args: &[&str], cwd: &Path) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("clanc starts");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let mut killed_for = None;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value to be written into.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child, writing into the two locals.
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if done == pid {
            break (status, usage);
        }
        assert!(done == 0, "wait4 failed for {args:?}");
        if killed_for.is_none() {
            let over_time = started.elapsed() > TIME_BOUND;
            let over_memory = rss_kb(pid).is_some_and(|kb| kb > 4 * MEMORY_BOUND_KB);
            if over_time || over_memory {
                killed_for = Some(if over_time { "time" } else { "memory" });
                // SAFETY: our own child, not reaped yet.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let run = Run {
        what: format!("clanc {}", args.join(" ")),
        status: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: started.elapsed(),
        peak_rss_kb: usage.ru_maxrss,
    };
    drop(child);
    assert!(
        killed_for.is_none(),
        "killed past the {} bound: {}",
        killed_for.unwrap_or_default(),
        run.text()
    );
    assert!(
        run.elapsed < TIME_BOUND,
        "took longer than {TIME_BOUND:?}: {}",
        run.text()
    );
    assert!(
        run.peak_rss_kb < MEMORY_BOUND_KB,
        "used more than {MEMORY_BOUND_KB} KB: {}",
        run.text()
    );
    assert!(
        run.status.is_some_and(|s| s != 101 && s < 128),
        "panicked or died: {}",
        run.text()
    );
    run
}

fn rss_kb(pid: libc::pid_t) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The line of the base clan's flake that cases add their definitions after.
const NAME_LINE: &str = "meta.name = \"hostile\";";

/// A copy of the base clan with its `flake.nix` edited by `edit`.
fn base_clan_with(edit: impl FnOnce(&str) -> String) -> tempfile::TempDir {
    let clan = base_clan();
    let path = clan.path().join("flake.nix");
    let flake = std::fs::read_to_string(&path).expect("flake");
    std::fs::write(&path, edit(&flake)).expect("write");
    clan
}

/// A copy of the base clan (`tests/hostile/clan`) in a temporary directory.
fn base_clan() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    common::copy_dir(
        &data().join("clan/flake.nix"),
        &dir.path().join("flake.nix"),
    );
    dir
}

/// The cases of a `tests/hostile/<dir>/expect` table: (file, code, line).
fn cases(dir: &str) -> Vec<(String, String, usize)> {
    let text = std::fs::read_to_string(data().join(dir).join("expect")).expect("expect table");
    let cases: Vec<_> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "expect line {l:?}");
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().expect("a line"),
            )
        })
        .collect();
    let files = std::fs::read_dir(data().join(dir))
        .expect("case directory")
        .flatten()
        .filter(|e| e.file_name() != "expect")
        .count();
    assert_eq!(
        files,
        cases.len(),
        "every file of tests/hostile/{dir} has its expectation"
    );
    cases
}

fn is_error(code: &str) -> bool {
    matches!(code, "N007" | "C011")
}

/// Row 8: a malformed data file is a diagnostic at its place in every command, never an
/// exit 0 without a word.
fn data_file_cases(dir: &str, name: &str) {
    for (file, code, line) in cases(dir) {
        let clan = base_clan();
        let root = clan.path();
        std::fs::copy(data().join(dir).join(&file), root.join(name)).expect("copy the case");
        let path = root.to_str().expect("UTF-8 temp path");

        let check = clanc(&["check", "--no-cache", "--format", "json", path], root);
        let found = check.diagnostics();
        let hit = found.iter().find(|d| d["code"] == code.as_str());
        let Some(hit) = hit else {
            panic!("{file}: no {code}: {}", check.text());
        };
        assert_eq!(hit["file"], name, "{file}: {}", check.text());
        assert_eq!(hit["line"], line, "{file}: {}", check.text());
        let expected_status = if is_error(&code) { 1 } else { 0 };
        assert_eq!(
            check.status,
            Some(expected_status),
            "{file}: {}",
            check.text()
        );

        let human = clanc(&["check", "--no-cache", path], root);
        assert!(human.stdout.contains(&code), "{file}: {}", human.text());

        let inventory = clanc(&["inventory", path], root);
        if code == "M005" {
            // a finding of `check` about a machine `inventory` lists as it is
            continue;
        }
        assert!(
            inventory.stderr.contains(&format!("[{code}]")),
            "{file}: inventory names {code}: {}",
            inventory.text()
        );
        assert_eq!(inventory.status, Some(1), "{file}: {}", inventory.text());

        let plan = clanc(&["plan", path], root);
        if is_error(&code) {
            assert_ne!(plan.status, Some(0), "{file}: no plan: {}", plan.text());
            assert!(
                plan.stderr.contains(&code) || plan.stdout.contains(&code),
                "{file}: plan names {code}: {}",
                plan.text()
            );
        }
    }
}

#[test]
fn malformed_inventory_json_is_reported_in_every_command() {
    data_file_cases("inventory-json", "inventory.json");
    // `eval` of clan's own reading of it fails with the parser's reason.
    let clan = base_clan();
    let root = clan.path();
    std::fs::copy(
        data().join("inventory-json/N007-number-overflow.json"),
        root.join("inventory.json"),
    )
    .expect("copy");
    let eval = clanc(
        &[
            "eval",
            "-E",
            "builtins.fromJSON (builtins.readFile ./inventory.json)",
        ],
        root,
    );
    assert_ne!(eval.status, Some(0), "{}", eval.text());
    assert!(
        eval.stderr.contains("number out of range"),
        "{}",
        eval.text()
    );
}

#[test]
fn malformed_flake_lock_is_reported_in_every_command() {
    data_file_cases("flake-lock", "flake.lock");
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("UTF-8 path")).expect("no NUL");
    // SAFETY: a valid C string; creates a FIFO.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// Row 5: a FIFO, socket or device where the clan has a file is refused by every command
/// (exit 2, naming the file and what it is), never opened: `open` of a FIFO blocks forever.
#[test]
fn special_files_in_the_clan_are_refused_not_opened() {
    let imports = "meta.name = \"hostile\"; imports = [ ./modules/x.nix ];";
    for (rel, kind) in [
        ("modules/x.nix", "FIFO"),
        ("inventory.json", "FIFO"),
        ("modules/x.nix", "socket"),
    ] {
        let clan = base_clan_with(|flake| flake.replace(NAME_LINE, imports));
        let root = clan.path();
        std::fs::create_dir_all(root.join("modules")).expect("mkdir");
        let _socket = match kind {
            "FIFO" => {
                mkfifo(&root.join(rel));
                None
            }
            _ => Some(std::os::unix::net::UnixListener::bind(root.join(rel)).expect("socket")),
        };
        let path = root.to_str().expect("UTF-8 temp path");
        for command in ["check", "inventory", "plan"] {
            let run = clanc(&[command, path], root);
            assert_eq!(run.status, Some(2), "{rel} ({kind}): {}", run.text());
            assert!(
                run.stderr.contains(rel) && run.stderr.contains(kind),
                "{rel} ({kind}): the refusal names the file and what it is: {}",
                run.text()
            );
        }
    }
    // `eval` of a FIFO: an error at the import, not a wait for a writer
    let dir = tempfile::tempdir().expect("temp dir");
    mkfifo(&dir.path().join("fifo.nix"));
    let run = clanc(&["eval", "-E", "import ./fifo.nix"], dir.path());
    assert_eq!(run.status, Some(1), "{}", run.text());
    assert!(run.stderr.contains("a FIFO"), "{}", run.text());
}

/// Row 4: `readFile` and `import` of a device read nothing: an error at the call (N002).
#[test]
fn devices_are_never_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    for expr in [
        "builtins.readFile /dev/zero",
        "import /dev/zero",
        "builtins.stringLength (builtins.readFile /dev/urandom)",
    ] {
        let run = clanc(&["eval", "-E", expr], dir.path());
        assert_eq!(run.status, Some(1), "{expr}: {}", run.text());
        assert!(
            run.stderr.contains("N002") && run.stderr.contains("a character device"),
            "{expr}: {}",
            run.text()
        );
    }
    // in a clan: the error at the call in the clan's file, and the rest checked
    let hostile = "meta.name = \"hostile\";\n        inventory.machines.beta.tags = [ (builtins.readFile /dev/zero) ];";
    let clan = base_clan_with(|flake| flake.replace(NAME_LINE, hostile));
    let root = clan.path();
    let path = root.to_str().expect("UTF-8 temp path");
    let check = clanc(&["check", "--no-cache", "--format", "json", path], root);
    let found = check.diagnostics();
    assert!(
        found.iter().any(|d| d["code"] == "N002"
            && d["file"] == "flake.nix"
            && d["line"] == 10
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("/dev/zero"))),
        "{}",
        check.text()
    );
    assert_eq!(check.status, Some(1), "{}", check.text());
    let inventory = clanc(&["inventory", "--json", path], root);
    assert!(inventory.stdout.contains("alpha"), "{}", inventory.text());
    assert!(inventory.stderr.contains("[N002]"), "{}", inventory.text());
    let plan = clanc(&["plan", path], root);
    assert_ne!(plan.status, Some(0), "{}", plan.text());
}

/// Rows 4 and 5: the size limits, one file (8 MiB) and all of a clan (32 MiB), from the
/// corpus's largest (a 298 KB file, a clan of 1.6 MB of Nix).
#[test]
fn files_past_the_size_limits_are_refused() {
    let spaces = |n: usize| {
        let mut text = " ".repeat(n);
        text.push_str("{ }\n");
        text
    };
    let clan = base_clan();
    let root = clan.path();
    std::fs::write(root.join("big.nix"), spaces(9 << 20)).expect("write");
    let path = root.to_str().expect("UTF-8 temp path");
    for command in ["check", "inventory", "plan"] {
        let run = clanc(&[command, path], root);
        assert_eq!(run.status, Some(2), "{}", run.text());
        assert!(
            run.stderr.contains("big.nix") && run.stderr.contains("8 MiB"),
            "{}",
            run.text()
        );
    }
    let run = clanc(&["eval", "-E", "import ./big.nix"], root);
    assert_eq!(run.status, Some(1), "{}", run.text());
    assert!(
        run.stderr.contains("N005") && run.stderr.contains("8 MiB"),
        "{}",
        run.text()
    );

    std::fs::remove_file(root.join("big.nix")).expect("rm");
    for i in 0..5 {
        std::fs::write(root.join(format!("part{i}.nix")), spaces(7 << 20)).expect("write");
    }
    let run = clanc(&["check", path], root);
    assert_eq!(run.status, Some(2), "{}", run.text());
    assert!(run.stderr.contains("32 MiB"), "{}", run.text());
}

/// Rows 3 and 7: values that grow without bound and work that doubles per level end in N005
/// at the expression, within the bounds, from `eval` and from a clan (whose other machines
/// are still read).
#[test]
fn runaway_evaluation_ends_in_n005_at_the_expression() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (expr, budget) in [
        (
            "builtins.length (builtins.genList (x: x) 100000000)",
            "MiB of values",
        ),
        (
            "let f = n: s: if n == 0 then s else f (n - 1) (s + s); in builtins.stringLength (f 40 \"x\")",
            "MiB of values",
        ),
        (
            "let f = n: l: if n == 0 then l else f (n - 1) (l ++ l); in builtins.length (f 40 [ 1 ])",
            "MiB of values",
        ),
        (
            "builtins.length (builtins.concatMap (x: builtins.genList (y: y) 100000) (builtins.genList (x: x) 1000))",
            "MiB of values",
        ),
        (
            "let f = n: a: if n == 0 then a else f (n - 1) (a // builtins.listToAttrs (map (x: { name = x + toString n; value = 1; }) (builtins.attrNames a))); in builtins.length (builtins.attrNames (f 40 { a = 1; }))",
            "MiB of values",
        ),
        (
            "let f = n: if n == 0 then 0 else f (n - 1) + f (n - 1); in f 60",
            "step budget",
        ),
    ] {
        let run = clanc(&["eval", "-E", expr], dir.path());
        assert_eq!(run.status, Some(1), "{expr}: {}", run.text());
        assert!(
            run.stderr.contains("N005") && run.stderr.contains(budget),
            "{expr}: {}",
            run.text()
        );
    }

    let hostile = "meta.name = \"hostile\";
        inventory.machines.beta.tags = [ (let f = n: s: if n == 0 then s else f (n - 1) (s + s); in f 40 \"x\") ];
        inventory.machines.gamma.tags = [ \"web\" \"db\" ];
        inventory.machines.delta.tags = [ (import ./loop.nix) ];";
    let clan = base_clan_with(|flake| flake.replace(NAME_LINE, hostile));
    let root = clan.path();
    std::fs::write(
        root.join("loop.nix"),
        "let f = n: if n == 0 then 0 else f (n - 1) + f (n - 1); in f 60\n",
    )
    .expect("write");
    let path = root.to_str().expect("UTF-8 temp path");
    let check = clanc(&["check", "--no-cache", "--format", "json", path], root);
    let n005: Vec<(String, i64)> = (check.diagnostics().iter())
        .filter(|d| d["code"] == "N005")
        .map(|d| {
            let file = d["file"].as_str().unwrap_or_default().to_string();
            (file, d["line"].as_i64().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        n005,
        [("flake.nix".to_string(), 10), ("loop.nix".to_string(), 1)],
        "one N005 at each runaway, none elsewhere: {}",
        check.text()
    );
    let inventory = clanc(&["inventory", "--json", path], root);
    let json: Json = serde_json::from_str(&inventory.stdout).expect("inventory JSON");
    let gamma = &json["machines"]["gamma"];
    assert_eq!(
        gamma["tags"],
        serde_json::json!(["web", "db"]),
        "{}",
        inventory.text()
    );
    let plan = clanc(&["plan", path], root);
    assert_ne!(plan.status, Some(0), "{}", plan.text());
}

/// The budgets bound runaway work, not a large sound clan: each machine widens them, so 110
/// machines that each build about 1.3 MB of values (144 MB together, past the 128 MiB a clan
/// starts with) are read in full, with no N005.
#[test]
fn many_machines_each_within_its_allowance_end_in_no_n005() {
    // `grow 16` doubles a 10-character string 16 times: 1.3 MB of strings built per machine.
    let many = "meta.name = \"hostile\";
        inventory.machines = let grow = n: s: if n == 0 then s else grow (n - 1) (s + s); in
          builtins.listToAttrs (map (i: {
            name = \"m${toString i}\";
            value.tags = [ (builtins.substring 0 4 (grow 16 \"${toString i}123456789\")) ];
          }) (builtins.genList (x: x + 100) 110));";
    // The base clan's machine `alpha` is defined by attribute paths, which the set above
    // would clash with.
    let clan = base_clan_with(|flake| {
        (flake.lines())
            .filter(|l| !l.contains("inventory.machines.alpha"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace(NAME_LINE, many)
    });
    let root = clan.path();
    let path = root.to_str().expect("UTF-8 temp path");
    let check = clanc(&["check", "--no-cache", "--format", "json", path], root);
    assert_eq!(check.status, Some(0), "{}", check.text());
    let n005 = (check.diagnostics().iter())
        .filter(|d| d["code"] == "N005")
        .count();
    assert_eq!(n005, 0, "{}", check.text());
    let inventory = clanc(&["inventory", "--json", path], root);
    let json: Json = serde_json::from_str(&inventory.stdout).expect("inventory JSON");
    let machines = json["machines"].as_object().expect("machines");
    assert_eq!(machines.len(), 110, "{}", inventory.text());
    for (name, tag) in [("m100", "1001"), ("m209", "2091")] {
        assert_eq!(
            machines[name]["tags"],
            serde_json::json!([tag]),
            "{}",
            inventory.text()
        );
    }
}

/// Row 2: long runs of one character (or of a short unit) that rnix took quadratic time over
/// (20-51 s in a release build for 128 KB) end in one N001 where the work would have run
/// away, at once, in `eval` of the file and in `check` of a clan whose module it is; a
/// megabyte of a character rnix does not know stays an ordinary syntax error (rnix's recovery
/// of it is linear).
#[test]
fn text_rnix_parses_in_quadratic_time_is_one_syntax_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (unit, count) in [
        ("!", 128 * 1024),
        ("*", 128 * 1024),
        ("\"", 128 * 1024),
        ("<", 128 * 1024),
        ("-", 100_000),
        ("- ", 100_000),
        ("f ", 100_000),
        ("a+", 100_000),
        ("?a", 100_000),
        ("\u{2039}", 350_000), // `‹`, 1 MB
    ] {
        let name = format!("x{}.nix", unit.len() * 1000 + count % 997);
        let file = dir.path().join(&name);
        std::fs::write(&file, unit.repeat(count)).expect("write");
        let run = clanc(&["eval", &name], dir.path());
        assert_eq!(run.status, Some(1), "{unit:?} x {count}: {}", run.text());
        assert_eq!(
            run.stderr.matches("N001").count(),
            1,
            "{unit:?} x {count}: one syntax error: {}",
            run.text()
        );

        let clan = base_clan_with(|flake| {
            flake.replace(NAME_LINE, "meta.name = \"hostile\"; imports = [ ./x.nix ];")
        });
        let root = clan.path();
        std::fs::copy(&file, root.join("x.nix")).expect("copy");
        let path = root.to_str().expect("UTF-8 temp path");
        let check = clanc(&["check", "--no-cache", "--format", "json", path], root);
        let n001: Vec<Json> = (check.diagnostics().into_iter())
            .filter(|d| d["code"] == "N001")
            .collect();
        // `‹` is no refusal but rnix's own recovery, which reports where the expression
        // fails and the input after it
        let expected = if unit == "\u{2039}" { 2 } else { 1 };
        assert_eq!(n001.len(), expected, "{unit:?} x {count}: {}", check.text());
        assert!(
            n001.iter().all(|d| d["file"] == "x.nix"),
            "{}",
            check.text()
        );
    }
}
