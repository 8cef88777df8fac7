//! Hostile input and faults for `clanc vars` (issue 25, rows 9, 10, 13, 14), on copies of the
//! small clan of `tests/vars/clan` with machines added at test time, real age encryption, and
//! the sops binary for the final check:
//! - names that try to escape (`../evil`, `a/b`, a generator `../../../x`): refused, nothing
//!   written anywhere, reported by `check` (M005, V008);
//! - a write failing midway: the tree byte for byte as it was;
//! - SIGTERM and SIGHUP during a generator: no plaintext left in TMPDIR, nothing written;
//! - concurrent `--regenerate` runs and `kill -9` midway: every generator's files from one run.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clanc::vars::{keys, sops};

/// A writable copy of the test clan four directories below a scratch root, so that a path
/// climbing out of the clan still lands inside the scratch root, where the test sees it.
struct Scratch {
    root: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let root = tempfile::tempdir().unwrap();
        let clan = root.path().join("a/b/c/d/clan");
        std::fs::create_dir_all(&clan).unwrap();
        let status = Command::new("cp")
            .arg("-a")
            .arg(common::repo().join("tests/vars/clan/."))
            .arg(&clan)
            .status()
            .unwrap();
        assert!(status.success());
        Scratch {
            root,
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn clan(&self) -> PathBuf {
        self.root.path().join("a/b/c/d/clan")
    }

    fn module(&self, name: &str, text: &str) {
        std::fs::write(self.clan().join("modules/machines").join(name), text).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clanc"));
        command
            .args(args)
            .current_dir(self.clan())
            .env(
                "SOPS_AGE_KEY_FILE",
                self.clan().join("TEST-ONLY-admin-age-key.txt"),
            )
            .env_remove("SOPS_AGE_KEY")
            .env("TMPDIR", self.tmp.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    fn clanc(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn admin(&self) -> Vec<age::x25519::Identity> {
        let text =
            std::fs::read_to_string(self.clan().join("TEST-ONLY-admin-age-key.txt")).unwrap();
        keys::parse_identities(&text).unwrap()
    }

    /// A var's content: the public value, or the secret decrypted with the admin key.
    fn var(&self, machine: &str, generator: &str, file: &str) -> Option<String> {
        let dir = self
            .clan()
            .join("vars/per-machine")
            .join(machine)
            .join(generator)
            .join(file);
        if let Ok(value) = std::fs::read_to_string(dir.join("value")) {
            return Some(value);
        }
        let text = std::fs::read_to_string(dir.join("secret")).ok()?;
        let plain = sops::decrypt(&text, &self.admin())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Some(String::from_utf8(plain.to_vec()).unwrap())
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every entry below `root`: its kind and content (file bytes, link target), and its mode.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (String, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let mode = meta.permissions().mode();
            let (kind, content) = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                ("link", target.into_os_string().into_encoded_bytes())
            } else if meta.is_dir() {
                stack.push(path);
                ("dir", Vec::new())
            } else {
                ("file", std::fs::read(&path).unwrap())
            };
            out.insert(rel, (kind.to_string(), content, mode));
        }
    }
    out
}

fn assert_same(before: &BTreeMap<PathBuf, (String, Vec<u8>, u32)>, root: &Path, what: &str) {
    let after = snapshot(root);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{what} changed: {changed:?}");
}

/// The diagnostics of `check --format json`: (code, file, message).
fn diagnostics(s: &Scratch) -> Vec<(String, String, String)> {
    let out = s.clanc(&["check", "--no-cache", "--format", "json", "."]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check printed no JSON ({e}): {}", text(&out)));
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (field("code"), field("file"), field("message"))
        })
        .collect()
}

#[test]
fn names_that_try_to_escape_are_refused_written_nowhere_and_reported() {
    let s = Scratch::new();
    s.module(
        "escape.nix",
        r#"{
  clan.inventory.machines = {
    "../evil" = { };
    "../../../../x" = { };
    "a/b" = { };
    tidy = { };
  };
  clan.machines."../evil" = {
    nixpkgs.hostPlatform = "x86_64-linux";
    clan.core.vars.generators.g = { files.s = { }; script = "printf s > $out/s"; };
  };
  clan.machines."../../../../x" = {
    nixpkgs.hostPlatform = "x86_64-linux";
    clan.core.vars.generators.g = { files.s = { }; script = "printf s > $out/s"; };
  };
  clan.machines."a/b" = {
    nixpkgs.hostPlatform = "x86_64-linux";
    clan.core.vars.generators.g = { files.s = { }; script = "printf s > $out/s"; };
  };
  clan.machines.tidy = {
    nixpkgs.hostPlatform = "x86_64-linux";
    clan.core.vars.generators."../../../x" = {
      files.f.secret = false;
      script = "printf x > $out/f";
    };
    clan.core.vars.generators.dotfile = {
      files."..".secret = false;
      script = "true";
    };
    clan.core.vars.generators.prompted = {
      files.f.secret = false;
      prompts."../p" = { };
      script = "printf x > $out/f";
    };
  };
}
"#,
    );
    let before = snapshot(s.root.path());
    let cases: [(&[&str], &str); 6] = [
        (&["--machine", "../evil"], "the machine name \"../evil\""),
        (
            &["--machine", "../../../../x"],
            "the machine name \"../../../../x\"",
        ),
        (&["--machine", "a/b"], "the machine name \"a/b\""),
        (
            &["--machine", "tidy", "--generator", "../../../x"],
            "the generator name \"../../../x\"",
        ),
        (
            &["--machine", "tidy", "--generator", "dotfile"],
            "the file name \"..\"",
        ),
        (
            &[
                "--machine",
                "tidy",
                "--generator",
                "prompted",
                "--prompt",
                "prompted/../p=v",
            ],
            "the prompt name \"../p\"",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["vars", "generate"];
        all.extend_from_slice(args);
        let out = s.clanc(&all);
        let log = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {log}");
        assert!(log.contains(expected), "{args:?}: {log}");
        assert!(log.contains("cannot name a file or directory"), "{log}");
        // nothing written, inside the clan or in the four directories above it
        assert_same(
            &before,
            s.root.path(),
            &format!("{args:?}: the scratch tree"),
        );
    }
    // every machine at once: refused as well, before anything runs
    let out = s.clanc(&["vars", "generate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_same(&before, s.root.path(), "`vars generate`: the scratch tree");
    // reading by an escaping name is refused too
    for args in [
        ["vars", "get", "../../../../x", "g/s"],
        ["vars", "get", "tidy", "../../x/f"],
    ] {
        let out = s.clanc(&args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("cannot name a file"), "{}", text(&out));
    }

    let found = diagnostics(&s);
    let with = |code: &str, needle: &str| {
        found
            .iter()
            .any(|(c, f, m)| c == code && f == "modules/machines/escape.nix" && m.contains(needle))
    };
    for machine in ["../evil", "../../../../x", "a/b"] {
        assert!(
            with("M005", &format!("`{machine}`")),
            "{machine}: {found:#?}"
        );
    }
    for name in ["generator \"../../../x\"", "file \"..\"", "prompt \"../p\""] {
        assert!(with("V008", name), "{name}: {found:#?}");
    }
    assert_eq!(
        found.iter().filter(|(c, ..)| c == "V008").count(),
        3,
        "{found:#?}"
    );
}

/// Two machines with a public generator and a secret one that reads it.
const PAIR: &str = r#"{
  clan.inventory.machines = { omega = { }; zeta = { }; };
  clan.machines = builtins.listToAttrs (map (name: {
    inherit name;
    value = {
      nixpkgs.hostPlatform = "x86_64-linux";
      clan.core.vars.generators.pub = {
        files.p.secret = false;
        script = ''head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$out"/p'';
      };
      clan.core.vars.generators.sec = {
        dependencies = [ "pub" ];
        files.s = { };
        script = ''printf 'from-%s' "$(cat "$in"/pub/p)" > "$out"/s'';
      };
    };
  }) [ "omega" "zeta" ]);
}
"#;

#[test]
fn a_write_failing_midway_leaves_the_tree_byte_for_byte_as_it_was() {
    let s = Scratch::new();
    s.module("pair.nix", PAIR);
    let out = s.clanc(&["vars", "generate", "--machine", "omega"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let p = s.var("omega", "pub", "p").unwrap();
    assert_eq!(s.var("omega", "sec", "s").unwrap(), format!("from-{p}"));

    // where zeta's `sec` goes lies a file: its generators run, omega's are regenerated, then
    // putting them in place fails at zeta's `sec`, after omega's two generators, zeta's `pub`
    // and zeta's new machine key are in place
    let blocker = s.clan().join("vars/per-machine/zeta/sec");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, "not a directory").unwrap();
    let before = snapshot(s.root.path());
    let out = s.clanc(&[
        "vars",
        "generate",
        "--regenerate",
        "--machine",
        "omega",
        "--machine",
        "zeta",
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains("nothing was changed"), "{log}");
    assert!(log.contains("is not a directory"), "{log}");
    assert!(log.contains("generating `sec` for `zeta`"), "{log}");
    assert_same(&before, s.root.path(), "the scratch tree");
    assert_eq!(s.var("omega", "pub", "p").unwrap(), p);

    // with the file gone the same generation goes through
    std::fs::remove_file(&blocker).unwrap();
    let out = s.clanc(&["vars", "generate", "--machine", "zeta"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let zp = s.var("zeta", "pub", "p").unwrap();
    assert_eq!(s.var("zeta", "sec", "s").unwrap(), format!("from-{zp}"));
    assert!(s.clan().join("sops/machines/zeta/key.json").is_file());
    let vars: Vec<String> = std::fs::read_dir(s.clan().join("vars"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(vars, ["per-machine"], "lock or staging left in vars/");
}

/// Waits until `found` holds, up to 60 seconds.
fn wait_for(what: &str, mut found: impl FnMut() -> bool) {
    let start = Instant::now();
    while !found() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Processes whose working directory is below `dir` (the generator scripts run in their
/// temporary directory).
fn processes_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd"))
            && cwd.starts_with(dir)
        {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn sigterm_and_sighup_during_a_generator_leave_no_plaintext_and_write_nothing() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let s = Scratch::new();
        s.module(
            "secretive.nix",
            r#"{
  clan.inventory.machines.kappa = { };
  clan.machines.kappa = {
    nixpkgs.hostPlatform = "x86_64-linux";
    clan.core.vars.generators.slow = {
      files.key = { };
      script = ''
        printf 'PLAINTEXT-SECRET' > "$out"/key
        touch "$out"/started
        sleep 60
      '';
    };
  };
}
"#,
        );
        let before = snapshot(s.root.path());
        let mut child = s
            .command(&["vars", "generate", "--machine", "kappa"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let tmp = s.tmp.path().to_path_buf();
        wait_for("the generator to start", || {
            std::fs::read_dir(&tmp)
                .unwrap()
                .flatten()
                .any(|e| e.path().join("out/started").exists())
        });
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: our own child, not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let started = Instant::now();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{name}: not stopped"
        );
        assert_eq!(status.code(), Some(128 + signal), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("interrupted; nothing was written ({name})")),
            "{stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
        assert!(left.is_empty(), "{name}: left in TMPDIR: {left:?}");
        wait_for("the script to be gone", || processes_in(&tmp).is_empty());
        assert_same(&before, s.root.path(), name);
    }
}

/// A machine whose generator writes one token to a secret and a public file, and a
/// generator that copies it: each run's token is new, so files from two runs differ.
const TOKENS: &str = r#"{
  clan.inventory.machines.omega = { };
  clan.machines.omega = {
    nixpkgs.hostPlatform = "x86_64-linux";
    clan.core.vars.generators.tok = {
      files.s = { };
      files.p.secret = false;
      script = ''
        t=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
        printf '%s' "$t" > "$out"/p
        sleep 0.2
        printf '%s' "$t" > "$out"/s
      '';
    };
    clan.core.vars.generators.dep = {
      dependencies = [ "tok" ];
      files.copy.secret = false;
      files.scopy = { };
      script = ''
        cat "$in"/tok/s > "$out"/scopy
        cat "$in"/tok/p > "$out"/copy
      '';
    };
  };
}
"#;

/// Every generator's files agree with each other; with `across`, `dep` also copies the `tok`
/// that is in place. Returns the token.
fn consistent(s: &Scratch, round: &str, across: bool) -> String {
    let p = s.var("omega", "tok", "p").unwrap_or_default();
    let secret = s.var("omega", "tok", "s").unwrap_or_default();
    assert_eq!(p, secret, "{round}: tok's files come from different runs");
    assert_eq!(p.len(), 16, "{round}: tok");
    let copy = s.var("omega", "dep", "copy").unwrap_or_default();
    let scopy = s.var("omega", "dep", "scopy").unwrap_or_default();
    assert_eq!(copy, scopy, "{round}: dep's files come from different runs");
    if across {
        assert_eq!(copy, p, "{round}: dep read a tok that is not in place");
    }
    p
}

#[test]
fn concurrent_regenerations_and_kills_leave_every_generator_consistent() {
    let s = Scratch::new();
    s.module("tokens.nix", TOKENS);
    let out = s.clanc(&["vars", "generate", "--machine", "omega"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut last = consistent(&s, "first run", true);
    let regenerate = ["vars", "generate", "--regenerate", "--machine", "omega"];

    // two at once, 10 rounds: the second waits for the first and says so
    let mut waited = 0;
    for round in 0..10 {
        let mut children: Vec<_> = (0..2)
            .map(|_| {
                s.command(&regenerate)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children.drain(..) {
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "round {round}: {}", text(&out));
            waited += usize::from(text(&out).contains("waiting for another clanc"));
        }
        let token = consistent(&s, &format!("concurrent round {round}"), true);
        assert_ne!(token, last, "round {round}: nothing regenerated");
        last = token;
    }
    assert!(waited > 0, "no run ever waited for the lock");

    // kill -9 at a moment that moves through the run, 10 rounds: whatever is in place is
    // consistent, and the next run works (no "File exists", no leftovers)
    for round in 0..10u64 {
        let mut child = s
            .command(&regenerate)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100 + round * 70));
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: our own child, not reaped yet.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        child.wait().unwrap();
        consistent(&s, &format!("kill round {round}"), false);
    }
    let out = s.clanc(&regenerate);
    assert_eq!(
        out.status.code(),
        Some(0),
        "after the kills: {}",
        text(&out)
    );
    let token = consistent(&s, "after the kills", true);
    let staging: Vec<_> = std::fs::read_dir(s.clan().join("vars"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with(".clanc-staging"))
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
    // plaintext the killed runs left in TMPDIR was removed by the runs after them
    let left: Vec<_> = std::fs::read_dir(s.tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");

    // the sops binary reads the final secret with the admin key
    let tools = std::env::var_os("CLANC_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("target/test-tools"));
    let sops_bin = tools.join("venv/bin/sops");
    assert!(
        sops_bin.is_file(),
        "the sops binary is not installed under {}: run ./scripts/test",
        tools.display()
    );
    let out = Command::new(sops_bin)
        .args([
            "decrypt",
            "--input-type",
            "binary",
            "--output-type",
            "binary",
        ])
        .arg(s.clan().join("vars/per-machine/omega/tok/s/secret"))
        .env(
            "SOPS_AGE_KEY_FILE",
            s.clan().join("TEST-ONLY-admin-age-key.txt"),
        )
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env_remove("SOPS_AGE_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), token);
}
