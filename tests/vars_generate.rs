//! `clanc vars generate|list|check|get` on a copy of the small clan in `tests/vars/clan`:
//! dependency order and shared generators, prompts from flags, all-or-nothing writes when a
//! generator fails (and no temporary directory left), generators clanc cannot run, machine
//! keys created on first need and readable by the sops binary, tampered secrets rejected, and
//! no generated secret in any output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clanc::vars::{keys, sops};

/// A writable copy of the test clan (symlinks kept).
fn clan_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(common::repo().join("tests/vars/clan/."))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// Runs clanc in `dir` with the test admin key and a private TMPDIR, stdin closed.
fn clanc_in(dir: &Path, tmp: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(args)
        .current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", dir.join("TEST-ONLY-admin-age-key.txt"))
        .env_remove("SOPS_AGE_KEY")
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn admin(dir: &Path) -> Vec<age::x25519::Identity> {
    keys::parse_identities(&read(dir, "TEST-ONLY-admin-age-key.txt")).unwrap()
}

/// Every secret file under `vars/` decrypted with the admin key.
fn secret_values(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("vars")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "secret") {
                let plain = sops::decrypt(&std::fs::read_to_string(&path).unwrap(), &admin(dir))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((path, String::from_utf8(plain.to_vec()).unwrap()));
            }
        }
    }
    out
}

fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in:\n{haystack}"))
}

fn empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).unwrap().next().is_none()
}

#[test]
fn dependency_order_shared_generators_prompts_and_keys() {
    let clan = clan_copy();
    let dir = clan.path();
    let tmp = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();

    let out = clanc_in(
        dir,
        tmp.path(),
        &[
            "vars",
            "generate",
            "--machine",
            "alpha",
            "--machine",
            "beta",
            "--prompt",
            "wifi/password=correct-horse-battery",
            "--prompt",
            "hotspot/label=lobby",
        ],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    // dependencies first; the shared generator once, before the generator that reads it
    assert!(position(&log, "generating `ca`") < position(&log, "generating `cert`"));
    assert!(position(&log, "generating `wifi`") < position(&log, "generating `hotspot`"));
    assert_eq!(log.matches("generating `wifi`").count(), 1, "{log}");
    assert!(empty_dir(tmp.path()), "temporary files left behind");
    outputs.push(out);

    // public files, and a dependency's output read through $in
    let ca_cert = read(dir, "vars/per-machine/alpha/ca/cert/value");
    assert!(ca_cert.starts_with("ca-cert-of-"));
    assert_eq!(
        read(dir, "vars/per-machine/alpha/cert/chain/value"),
        format!("chain:{ca_cert}")
    );
    assert_eq!(read(dir, "vars/shared/wifi/ssid/value"), "home-net");
    assert_eq!(
        read(dir, "vars/per-machine/beta/hotspot/config/value"),
        "ssid=home-net"
    );

    // secrets: prompts reach the script; recipients are the admin and the machines
    let secrets = secret_values(dir);
    let value_of = |suffix: &str| {
        secrets
            .iter()
            .find(|(p, _)| p.ends_with(suffix))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no secret {suffix}"))
    };
    assert_eq!(value_of("wifi/psk/secret"), "psk:correct-horse-battery");
    assert_eq!(value_of("hotspot/api-key/secret"), "api-lobby");
    assert_eq!(value_of("cert/activation-token/secret"), "token-from-32");
    assert_eq!(value_of("ca/key/secret").len(), 32);
    let machines = std::fs::read_dir(dir.join("vars/shared/wifi/psk/machines"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(machines, ["alpha".to_string(), "beta".to_string()].into());
    assert_eq!(
        std::fs::read_link(dir.join("vars/shared/wifi/psk/machines/beta")).unwrap(),
        Path::new("../../../../../sops/machines/beta")
    );
    // not deployed: no machine recipient
    assert!(
        !dir.join("vars/per-machine/beta/hotspot/api-key/machines")
            .exists()
    );

    // the machine keys: public half in key.json, private half for the admin; the sops binary
    // opens the key file with the admin key and the machine's secret with the machine key
    for machine in ["alpha", "beta"] {
        let public =
            keys::parse_key_json(&read(dir, &format!("sops/machines/{machine}/key.json"))).unwrap();
        let recipients = sops::recipients(&read(dir, "vars/shared/wifi/psk/secret")).unwrap();
        assert!(recipients.contains(&public[0].to_string()), "{machine}");
        assert_eq!(
            std::fs::read_link(dir.join(format!("sops/secrets/{machine}-age.key/users/admin")))
                .unwrap(),
            Path::new("../../../users/admin")
        );
    }
    let tools = sops_tools();
    let key_txt = sops_decrypt(
        &tools,
        &dir.join("sops/secrets/alpha-age.key/secret"),
        &dir.join("TEST-ONLY-admin-age-key.txt"),
    );
    let machine_key = tmp.path().join("alpha.key");
    std::fs::write(&machine_key, &key_txt).unwrap();
    let ca_key = sops_decrypt(
        &tools,
        &dir.join("vars/per-machine/alpha/ca/key/secret"),
        &machine_key,
    );
    assert_eq!(ca_key, value_of("ca/key/secret"));
    std::fs::remove_file(&machine_key).unwrap();

    // a second run has nothing to do; --regenerate reruns a generator and its dependents only
    let again = clanc_in(dir, tmp.path(), &["vars", "generate", "--machine", "alpha"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again).contains("nothing to generate"),
        "{}",
        text(&again)
    );
    outputs.push(again);
    let regen = clanc_in(
        dir,
        tmp.path(),
        &[
            "vars",
            "generate",
            "--machine",
            "alpha",
            "--generator",
            "ca",
            "--regenerate",
        ],
    );
    let log = text(&regen);
    assert_eq!(regen.status.code(), Some(0), "{log}");
    assert!(log.contains("generating `ca`") && log.contains("generating `cert`"));
    assert!(!log.contains("`wifi`"), "{log}");
    assert_ne!(read(dir, "vars/per-machine/alpha/ca/cert/value"), ca_cert);
    outputs.push(regen);

    // list: public values, masked secrets, missing files
    let list = clanc_in(dir, tmp.path(), &["vars", "list", "alpha"]);
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(listed.contains("ca/key: ********\n"), "{listed}");
    assert!(listed.contains("wifi/ssid: home-net\n"), "{listed}");
    assert!(listed.contains(&format!(
        "ca/cert: {}\n",
        read(dir, "vars/per-machine/alpha/ca/cert/value")
    )));
    outputs.push(list);
    let gamma = clanc_in(dir, tmp.path(), &["vars", "list", "gamma"]);
    assert_eq!(
        String::from_utf8_lossy(&gamma.stdout),
        "broken/one: <not set>\nbroken/two: <not set>\nfirst/seed: <not set>\n"
    );

    // check: what is not generated yet; nothing about alpha and beta
    let check = clanc_in(dir, tmp.path(), &["vars", "check"]);
    let report = text(&check);
    assert!(
        report.contains("`first`") && report.contains("`greeting`"),
        "{report}"
    );
    assert!(
        !report.contains("`ca`") && !report.contains("`wifi`"),
        "{report}"
    );
    outputs.push(check);

    // no output above holds a generated secret
    let secrets = secret_values(dir);
    assert_eq!(secrets.len(), 4);
    for out in &outputs {
        let all = text(out);
        for (path, value) in &secrets {
            assert!(
                !all.contains(value.as_str()),
                "{} leaked into the output",
                path.display()
            );
        }
        assert!(!all.contains("correct-horse-battery"));
        assert!(!all.contains("AGE-SECRET-KEY-"));
    }
}

#[test]
fn a_generator_failing_midway_writes_nothing_and_leaves_no_temp_dir() {
    let clan = clan_copy();
    let tmp = tempfile::tempdir().unwrap();
    let out = clanc_in(
        clan.path(),
        tmp.path(),
        &["vars", "generate", "--machine", "gamma"],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("generator `broken` of machine `gamma` failed"),
        "{log}"
    );
    assert!(
        log.contains("broken: giving up"),
        "the script's stderr is shown: {log}"
    );
    // `first` ran before it, but nothing is written: not even its files or a machine key
    assert!(log.contains("generating `first`"));
    assert!(!clan.path().join("vars").exists());
    assert!(!clan.path().join("sops/machines").exists());
    assert!(empty_dir(tmp.path()), "temporary files left behind");
    assert!(!log.contains("half-done") && !log.contains("seed-value"));
}

#[test]
fn generators_clanc_cannot_run_and_missing_prompts_are_errors_before_anything_runs() {
    let clan = clan_copy();
    let tmp = tempfile::tempdir().unwrap();
    let out = clanc_in(
        clan.path(),
        tmp.path(),
        &["vars", "generate", "--machine", "delta"],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    // Its script names a package: clanc builds the generator's `finalScript` with nix, which
    // cannot fetch this flake's inputs offline (tests/final_script.rs shows a build that works).
    assert!(
        log.contains(
            "generator `greeting` of machine `delta`: building its script with Nix failed"
        ),
        "{log}"
    );

    // beta's prompts, without a terminal and without flags
    let out = clanc_in(
        clan.path(),
        tmp.path(),
        &[
            "vars",
            "generate",
            "--machine",
            "beta",
            "--prompt",
            "hotspot/label=x",
        ],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("`wifi/password`") && log.contains("--prompt wifi/password=VALUE"),
        "{log}"
    );
    assert!(!log.contains("generating"), "nothing may run: {log}");
    assert!(!clan.path().join("vars").exists());

    // an answer from a file; a malformed flag
    let answer = tmp.path().join("answer");
    std::fs::write(&answer, "from-a-file").unwrap();
    let arg = format!("wifi/password={}", answer.display());
    let out = clanc_in(
        clan.path(),
        tmp.path(),
        &[
            "vars",
            "generate",
            "--machine",
            "beta",
            "--prompt-file",
            &arg,
            "--prompt",
            "hotspot/label=x",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::remove_file(&answer).unwrap();
    let psk = sops::decrypt(
        &read(clan.path(), "vars/shared/wifi/psk/secret"),
        &admin(clan.path()),
    )
    .unwrap();
    assert_eq!(psk.as_slice(), b"psk:from-a-file");
    let bad = clanc_in(
        clan.path(),
        tmp.path(),
        &["vars", "generate", "--prompt", "novalue"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(empty_dir(tmp.path()));
}

#[test]
fn tampered_generated_secrets_are_rejected_and_stale_recipients_reported() {
    let clan = clan_copy();
    let dir = clan.path();
    let tmp = tempfile::tempdir().unwrap();
    let out = clanc_in(
        dir,
        tmp.path(),
        &[
            "vars",
            "generate",
            "--machine",
            "alpha",
            "--prompt",
            "wifi/password=pw",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let get = clanc_in(
        dir,
        tmp.path(),
        &["vars", "get", "alpha", "cert/activation-token"],
    );
    assert_eq!(String::from_utf8_lossy(&get.stdout), "token-from-32");

    let path = dir.join("vars/per-machine/alpha/cert/activation-token/secret");
    let mut json: serde_json::Value = serde_json::from_str(&read(
        dir,
        "vars/per-machine/alpha/cert/activation-token/secret",
    ))
    .unwrap();
    let data = json["data"].as_str().unwrap().to_string();
    // flip one character of the ciphertext
    let at = data.find("data:").unwrap() + 5;
    let flipped: String = data
        .char_indices()
        .map(|(i, c)| {
            if i == at {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    json["data"] = flipped.into();
    std::fs::write(&path, json.to_string()).unwrap();
    let get = clanc_in(
        dir,
        tmp.path(),
        &["vars", "get", "alpha", "cert/activation-token"],
    );
    assert_eq!(get.status.code(), Some(1));
    assert!(text(&get).contains("altered"), "{}", text(&get));
    assert!(get.stdout.is_empty());

    // a user linked beside a secret that was not encrypted for them: V005
    let eve = age::x25519::Identity::generate().to_public();
    std::fs::create_dir_all(dir.join("sops/users/eve")).unwrap();
    std::fs::write(
        dir.join("sops/users/eve/key.json"),
        format!(r#"{{"publickey": "{eve}", "type": "age"}}"#),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../../../../../sops/users/eve",
        dir.join("vars/per-machine/alpha/ca/key/users/eve"),
    )
    .unwrap();
    let check = clanc_in(dir, tmp.path(), &["vars", "check", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(check.status.code(), Some(1), "{report}");
    let v005: Vec<_> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "V005")
        .collect();
    assert_eq!(v005.len(), 1, "{report}");
    assert_eq!(v005[0]["file"], "vars/per-machine/alpha/ca/key/secret");
    assert!(v005[0]["message"].as_str().unwrap().contains("user `eve`"));
}

fn sops_tools() -> PathBuf {
    let dir = std::env::var_os("CLANC_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("target/test-tools"));
    assert!(
        dir.join("venv/bin/sops").is_file(),
        "the sops binary is not installed under {}: run ./scripts/test",
        dir.display()
    );
    dir
}

/// The sops binary's decryption of a binary-format file with the key in `key_file`.
fn sops_decrypt(tools: &Path, file: &Path, key_file: &Path) -> String {
    let out = Command::new(tools.join("venv/bin/sops"))
        .args([
            "decrypt",
            "--input-type",
            "binary",
            "--output-type",
            "binary",
        ])
        .arg(file)
        .env("SOPS_AGE_KEY_FILE", key_file)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env_remove("SOPS_AGE_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sops: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Waits until `found` holds, up to 30 seconds.
fn wait_for(what: &str, mut found: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !found() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether some `clanc-vars-*/out/started` exists below `tmp`.
fn generator_started(tmp: &Path) -> bool {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .any(|e| e.path().join("out/started").exists())
}

#[test]
fn ctrl_c_stops_the_generator_writes_nothing_and_removes_the_temp_dir() {
    let clan = clan_copy();
    let tmp = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["vars", "generate", "--machine", "epsilon"])
        .current_dir(clan.path())
        .env("TMPDIR", tmp.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the generator to start", || generator_started(tmp.path()));
    let started = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "not stopped"
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(text(&out).contains("interrupted; nothing was written"));
    assert!(empty_dir(tmp.path()), "temporary directory left behind");
    assert!(!clan.path().join("vars").exists());
}

#[test]
fn hidden_prompts_on_a_terminal_are_not_echoed() {
    use std::io::{Read, Write};
    let clan = clan_copy();
    let tmp = tempfile::tempdir().unwrap();
    let command = format!(
        "{} vars generate --machine beta --prompt hotspot/label=x",
        env!("CARGO_BIN_EXE_clanc")
    );
    // `script` runs clanc on a pseudo-terminal, forwarding our stdin to it.
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(clan.path())
        .env(
            "SOPS_AGE_KEY_FILE",
            clan.path().join("TEST-ONLY-admin-age-key.txt"),
        )
        .env("TMPDIR", tmp.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    // answer only once the question is on the terminal (echo is off by then)
    wait_for("the prompt", || {
        String::from_utf8_lossy(&seen.lock().unwrap()).contains("The wifi password")
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"typed-on-a-tty\n").unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let transcript = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(status.success(), "{transcript}");
    assert!(
        !transcript.contains("typed-on-a-tty"),
        "echoed: {transcript}"
    );
    let psk = sops::decrypt(
        &read(clan.path(), "vars/shared/wifi/psk/secret"),
        &admin(clan.path()),
    )
    .unwrap();
    assert_eq!(psk.as_slice(), b"psk:typed-on-a-tty");
}

#[test]
fn commit_records_the_generated_files_with_a_message_like_clans() {
    let clan = clan_copy();
    let dir = clan.path();
    let tmp = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "the clan"]);
    let out = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args([
            "vars",
            "generate",
            "--machine",
            "alpha",
            "--generator",
            "ca",
            "--commit",
        ])
        .current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", dir.join("TEST-ONLY-admin-age-key.txt"))
        .env("TMPDIR", tmp.path())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // ca and cert (its dependent) ran; one commit holds their files and alpha's new key
    assert_eq!(git(&["status", "--porcelain"]), "");
    let message = git(&["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("Update vars via clanc vars generate"),
        "{message}"
    );
    assert!(
        message.contains("- generator ca for machine alpha"),
        "{message}"
    );
    let files = git(&["show", "--name-only", "--format=", "HEAD"]);
    for path in [
        "vars/per-machine/alpha/ca/key/secret",
        "vars/per-machine/alpha/ca/cert/value",
        "vars/per-machine/alpha/cert/chain/value",
        "sops/machines/alpha/key.json",
        "sops/secrets/alpha-age.key/secret",
    ] {
        assert!(files.lines().any(|l| l == path), "{path} not in {files}");
    }
}
