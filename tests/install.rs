//! `clanc machines install` (and its alias `clanc install`) end to end, with only
//! nixos-anywhere replaced: a recording stand-in put first on PATH (clanc finds nixos-anywhere
//! on PATH, nowhere else). The clan is the loopback fixture of tests/apply.rs with alpha's
//! generators, one more per-machine and one shared generator whose files are needed for
//! partitioning; clanc generates the vars first (real age/sops encryption) and the test opens
//! them with the real sops binary and with clanc's decryption. Shown: clan's argv, run once per
//! phase; the partitioning secrets' contents at their `--disk-encryption-keys` paths; the
//! `--extra-files` tree (modes, and the right decrypted key at the right place); the hardware
//! report in `machines/<m>/` and `installedAt` in inventory.json, both committed; no secret
//! left on disk or printed, after a success, a failure or a refusal.

mod common;
#[path = "common/loopback.rs"]
mod loopback;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clanc::vars::{keys, sops};
use loopback::*;

/// alpha's partitioning generators: a per-machine disk key and a shared LUKS passphrase.
const PARTITIONING_GENERATORS: &str = r#"        machines.alpha.clan.core.vars.generators.disk = {
          files.key = { neededFor = "partitioning"; };
          script = ''
            printf 'disk-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$out"/key
          '';
        };
        machines.alpha.clan.core.vars.generators.luks = {
          share = true;
          files.pass = { neededFor = "partitioning"; mode = "0440"; };
          script = ''
            printf 'luks-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$out"/pass
          '';
        };
"#;

/// A stand-in nixos-anywhere. Each run `N` records its arguments (`argv.N`), `SSHPASS`
/// (`sshpass.N`), the `--extra-files` tree (mode and path of every entry, and the sha256 of
/// each file, never the content), the mode of the directory holding it, the content and mode
/// of each `--disk-encryption-keys` file under the remote path it was given (`disk.N/<path>`),
/// and its phase (the last `--phases`, appended to `phases`). Like nixos-anywhere it writes
/// the hardware report where `--generate-hardware-config` says. It exits 3 in `$FAIL_PHASE`.
const RECORDER: &str = r#"#!/bin/sh
r="$RECORD_DIR"
n=$(($(cat "$r/count" 2>/dev/null || echo 0) + 1))
echo "$n" > "$r/count"
printf '%s\n' "$@" > "$r/argv.$n"
if [ -n "${SSHPASS+set}" ]; then printf '%s' "$SSHPASS" > "$r/sshpass.$n"; fi
phase=""
while [ $# -gt 0 ]; do
  case "$1" in
    --extra-files)
      (cd "$2" && find . -printf '%p %m\n' | LC_ALL=C sort > "$r/tree.$n" \
        && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2 > "$r/sums.$n")
      stat -c '%a' "$(dirname "$2")" > "$r/private-mode.$n"
      shift 2 ;;
    --disk-encryption-keys)
      mkdir -p "$r/disk.$n$(dirname "$2")"
      cat "$3" > "$r/disk.$n$2"
      echo "$2 $(stat -c '%a' "$3")" >> "$r/disk-modes.$n"
      shift 3 ;;
    --generate-hardware-config)
      mkdir -p "$(dirname "$3")"
      printf '{"report": "%s"}\n' "$2" > "$3"
      shift 3 ;;
    --phases) phase="$2"; shift 2 ;;
    *) shift ;;
  esac
done
echo "$phase" >> "$r/phases"
if [ "$phase" = "${FAIL_PHASE:-}" ]; then exit 3; fi
"#;

struct Env {
    root: tempfile::TempDir,
    clan: PathBuf,
    tmp: tempfile::TempDir,
}

impl Env {
    fn record(&self) -> PathBuf {
        self.root.path().join("recorded")
    }
    fn config(&self) -> PathBuf {
        self.root.path().join("config")
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.record().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
    /// A fresh record directory.
    fn reset(&self) {
        let _ = std::fs::remove_dir_all(self.record());
        std::fs::create_dir_all(self.record()).unwrap();
    }
    fn clanc(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let path = format!("{}:/usr/bin:/bin", self.root.path().join("bin").display());
        Command::new(env!("CARGO_BIN_EXE_clanc"))
            .args(args)
            .arg("--flake")
            .arg(&self.clan)
            .env("PATH", path)
            .env("TMPDIR", self.tmp.path())
            .env("RECORD_DIR", self.record())
            .env("XDG_CONFIG_HOME", self.config())
            .env("SOPS_AGE_KEY_FILE", self.clan.join(ADMIN_KEY_FILE))
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SSHPASS")
            .env_remove("CLAN_NO_COMMIT")
            .envs(git_identity())
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("clanc runs")
    }
    fn decrypt(&self, rel: &str) -> Vec<u8> {
        let admin = keys::parse_identities(
            &std::fs::read_to_string(self.clan.join(ADMIN_KEY_FILE)).unwrap(),
        )
        .unwrap();
        sops::decrypt(
            &std::fs::read_to_string(self.clan.join(rel)).unwrap(),
            &admin,
        )
        .unwrap()
        .to_vec()
    }
    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.clan)
            .args(args)
            .envs(git_identity())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }
}

fn git_identity() -> [(&'static str, &'static str); 4] {
    [
        ("GIT_AUTHOR_NAME", "t"),
        ("GIT_AUTHOR_EMAIL", "t@example.org"),
        ("GIT_COMMITTER_NAME", "t"),
        ("GIT_COMMITTER_EMAIL", "t@example.org"),
    ]
}

/// The fixture clan (a git repository with everything committed), the admin key, the
/// recorder as `bin/nixos-anywhere`.
fn setup() -> Env {
    let root = tempfile::tempdir().unwrap();
    let stub = Stub {
        inventory: format!("{ALPHA_GENERATORS}{PARTITIONING_GENERATORS}"),
        ..Stub::default()
    };
    let clan = fixture_with(root.path(), &[("alpha", 22)], &stub);
    let vars = common::repo().join("tests/vars/clan");
    std::fs::copy(vars.join(ADMIN_KEY_FILE), clan.join(ADMIN_KEY_FILE)).unwrap();
    std::fs::create_dir_all(clan.join("sops/users/admin")).unwrap();
    std::fs::copy(
        vars.join("sops/users/admin/key.json"),
        clan.join("sops/users/admin/key.json"),
    )
    .unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tool = bin.join("nixos-anywhere");
    std::fs::write(&tool, RECORDER).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = Env {
        root,
        clan,
        tmp: tempfile::tempdir().unwrap(),
    };
    env.reset();
    env.git(&["init", "-q"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", "clan"]);
    env
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The real sops binary's decryption of a vars secret (installed by ./scripts/test).
fn sops_binary_decrypt(env: &Env, rel: &str) -> Vec<u8> {
    let tools = std::env::var_os("CLANC_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("target/test-tools"));
    let sops = tools.join("venv/bin/sops");
    assert!(
        sops.is_file(),
        "the sops binary is not installed under {}: run ./scripts/test",
        tools.display()
    );
    let out = Command::new(sops)
        .args([
            "decrypt",
            "--input-type",
            "binary",
            "--output-type",
            "binary",
        ])
        .arg(env.clan.join(rel))
        .env("SOPS_AGE_KEY_FILE", env.clan.join(ADMIN_KEY_FILE))
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env_remove("SOPS_AGE_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "sops: {out:?}");
    out.stdout
}

#[test]
fn the_seeds_command_line_installs_with_secrets_report_and_install_time() {
    let env = setup();
    let before = now();
    // the terranix provisioner's command line
    let out = env.clanc(
        &[
            "machines",
            "install",
            "alpha",
            "--update-hardware-config",
            "nixos-facter",
            "--target-host",
            "root@192.0.2.1",
            "-i",
            "/keys/id",
            "--yes",
        ],
        &[],
    );
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let after = now();

    // one nixos-anywhere run per phase, in clan's order, each with clan's argv
    assert_eq!(env.read("phases"), "kexec\ndisko\ninstall\nreboot\n");
    let first = env.read("argv.1");
    let argv: Vec<&str> = first.lines().collect();
    let after_flag = |flag: &str| argv[argv.iter().position(|a| *a == flag).unwrap() + 1];
    let extra = after_flag("--extra-files");
    let private = Path::new(extra).parent().unwrap();
    assert!(private.starts_with(env.tmp.path()), "{extra}");
    assert!(extra.ends_with("/activation_secrets"), "{extra}");
    let partitioning = private.join("partitioning_secrets");
    let key = env.config().join("clan/nixos-anywhere/keys/id_ed25519");
    let facter = env.clan.join("machines/alpha/facter.json");
    let want = [
        "--flake".to_string(),
        format!("{}#alpha", env.clan.display()),
        "--extra-files".into(),
        extra.into(),
        "--disk-encryption-keys".into(),
        "/run/partitioning-secrets/per-machine/alpha/disk/key".into(),
        partitioning
            .join("per-machine/alpha/disk/key")
            .display()
            .to_string(),
        "--disk-encryption-keys".into(),
        "/run/partitioning-secrets/shared/luks/pass".into(),
        partitioning.join("shared/luks/pass").display().to_string(),
        "--generate-hardware-config".into(),
        "nixos-facter".into(),
        facter.display().to_string(),
        "-i".into(),
        key.display().to_string(),
        "--ssh-option".into(),
        "IdentityFile=/keys/id".into(),
        "root@192.0.2.1".into(),
        "--phases".into(),
        "kexec".into(),
    ];
    assert_eq!(argv, want);
    for (n, phase) in [(2, "disko"), (3, "install"), (4, "reboot")] {
        let mut again = want.clone();
        *again.last_mut().unwrap() = phase.to_string();
        assert_eq!(
            env.read(&format!("argv.{n}")).lines().collect::<Vec<_>>(),
            again
        );
    }
    assert!(
        !env.record().join("sshpass.1").exists(),
        "no password, no SSHPASS"
    );

    // the nixos-anywhere key clan keeps, made once, private
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(key.parent().unwrap()), 0o700);
    assert_eq!(mode(&key), 0o600);
    assert!(key.with_extension("pub").is_file());

    // the partitioning secrets: what reached each remote path is the var's plaintext, as the
    // real sops binary decrypts it, with the var's mode
    for (remote, var) in [
        (
            "run/partitioning-secrets/per-machine/alpha/disk/key",
            "vars/per-machine/alpha/disk/key/secret",
        ),
        (
            "run/partitioning-secrets/shared/luks/pass",
            "vars/shared/luks/pass/secret",
        ),
    ] {
        let plain = sops_binary_decrypt(&env, var);
        assert!(plain.starts_with(b"disk-") || plain.starts_with(b"luks-"));
        assert_eq!(
            std::fs::read(env.record().join("disk.1").join(remote)).unwrap(),
            plain,
            "{remote}"
        );
    }
    assert_eq!(
        env.read("disk-modes.1"),
        "/run/partitioning-secrets/per-machine/alpha/disk/key 400\n\
         /run/partitioning-secrets/shared/luks/pass 440\n"
    );

    // the extra files: a system root's modes down to the 0700 secrets directory, the age key
    // and the activation secret where clan's NixOS module looks for them; inside a private
    // directory; nothing needed for partitioning or services among them
    assert_eq!(
        env.read("tree.1"),
        ". 755\n./var 755\n./var/lib 755\n./var/lib/sops-nix 700\n\
         ./var/lib/sops-nix/activation 700\n./var/lib/sops-nix/activation/per-machine 700\n\
         ./var/lib/sops-nix/activation/per-machine/alpha 700\n\
         ./var/lib/sops-nix/activation/per-machine/alpha/boot 700\n\
         ./var/lib/sops-nix/activation/per-machine/alpha/boot/token 440\n\
         ./var/lib/sops-nix/key.txt 600\n"
    );
    assert_eq!(env.read("private-mode.1"), "700\n");
    let age_key = env.decrypt("sops/secrets/alpha-age.key/secret");
    let token = env.decrypt("vars/per-machine/alpha/boot/token/secret");
    assert!(String::from_utf8_lossy(&age_key).contains("AGE-SECRET-KEY-1"));
    assert_eq!(
        env.read("sums.1"),
        format!(
            "{}  ./var/lib/sops-nix/activation/per-machine/alpha/boot/token\n{}  \
             ./var/lib/sops-nix/key.txt\n",
            sha256(&token),
            sha256(&age_key)
        )
    );

    // the hardware report in the machine's folder, committed as clan commits it
    assert_eq!(
        std::fs::read_to_string(&facter).unwrap(),
        "{\"report\": \"nixos-facter\"}\n"
    );
    // installedAt in inventory.json, committed
    let inventory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.clan.join("inventory.json")).unwrap())
            .unwrap();
    let at = inventory["machines"]["alpha"]["installedAt"]
        .as_u64()
        .unwrap();
    assert!(
        (before..=after).contains(&at),
        "{at} not in {before}..={after}"
    );
    assert_eq!(
        env.git(&["log", "--format=%s"]),
        "inventory.json: update install time of alpha\n\
         machines/alpha/facter.json: update hardware configuration\nclan\n"
    );
    assert_eq!(
        env.git(&["status", "--porcelain", "--", "inventory.json", "machines"]),
        ""
    );

    // afterwards: no temporary directory, no secret in the output
    assert!(empty(env.tmp.path()), "left behind in TMPDIR");
    for secret in [&age_key, &token] {
        assert!(!report.contains(String::from_utf8_lossy(secret).trim()));
    }
    for var in [
        "vars/per-machine/alpha/disk/key/secret",
        "vars/shared/luks/pass/secret",
    ] {
        assert!(!report.contains(String::from_utf8_lossy(&env.decrypt(var)).as_ref()));
    }

    // again, through the alias, one phase: the clan with its inventory.json still loads,
    // installedAt is rewritten in place, the key is reused, no report is asked for
    env.reset();
    while now() <= at {
        // a later second, so that the new installedAt differs and is committed
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let key_before = std::fs::read(&key).unwrap();
    let out = env.clanc(
        &[
            "install",
            "alpha",
            "--target-host",
            "192.0.2.1",
            "--yes",
            "--phases",
            "install",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.read("phases"), "install\n");
    let argv = env.read("argv.1");
    assert!(argv.contains("\n--phases\ninstall\n-i\n"), "{argv}");
    assert!(!argv.contains("--generate-hardware-config"), "{argv}");
    assert_eq!(std::fs::read(&key).unwrap(), key_before);
    let text_now = std::fs::read_to_string(env.clan.join("inventory.json")).unwrap();
    assert!(
        text_now.starts_with("{\n  \"machines\": {\n    \"alpha\": {\n      \"installedAt\": ")
    );
    let again: serde_json::Value = serde_json::from_str(&text_now).unwrap();
    assert!(again["machines"]["alpha"]["installedAt"].as_u64().unwrap() > at);
    assert_eq!(env.git(&["log", "--format=%s"]).lines().count(), 4);
    assert!(empty(env.tmp.path()));
}

#[test]
fn a_failing_phase_stops_the_install_and_the_flags_reach_nixos_anywhere() {
    let env = setup();
    let args = [
        "machines",
        "install",
        "alpha",
        "--target-host",
        "admin@192.0.2.1:2222?ConnectTimeout=5",
        "--yes",
        "--phases",
        "kexec,disko,install",
        "--no-reboot",
        "--password",
        "hunter2-not-a-secret",
        "--build-on",
        "remote",
        "--kexec",
        "https://example.org/kexec.tar.gz",
        "--debug",
        "--host-key-check",
        "none",
        "--ssh-option",
        "ServerAliveInterval=3",
        "--no-persist-state",
    ];
    let out = env.clanc(&args, &[("FAIL_PHASE", "disko")]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("nixos-anywhere failed in phase disko (exit status 3)"),
        "{report}"
    );
    assert_eq!(env.read("phases"), "kexec\ndisko\n", "install never ran");
    let argv = env.read("argv.1");
    let argv: Vec<&str> = argv.lines().collect();
    let tail = &argv[argv.iter().position(|a| *a == "--no-reboot").unwrap()..];
    assert_eq!(
        tail,
        [
            "--no-reboot",
            "--phases",
            "kexec,disko,install",
            "--env-password",
            "--ssh-option",
            "IdentitiesOnly=yes",
            "-i",
            &env.config()
                .join("clan/nixos-anywhere/keys/id_ed25519")
                .display()
                .to_string(),
            "--build-on",
            "remote",
            "--ssh-port",
            "2222",
            "--kexec",
            "https://example.org/kexec.tar.gz",
            "--debug",
            "--ssh-option",
            "ConnectTimeout=5",
            "--ssh-option",
            "ServerAliveInterval=3",
            "admin@192.0.2.1",
            "--phases",
            "kexec",
        ]
    );
    // the password only in SSHPASS, never an argument nor printed
    assert_eq!(env.read("sshpass.1"), "hunter2-not-a-secret");
    assert!(!env.read("argv.1").contains("hunter2"));
    assert!(!report.contains("hunter2"));
    // nothing recorded, nothing left
    assert!(!env.clan.join("inventory.json").exists());
    assert!(empty(env.tmp.path()), "left behind after a failure");
    assert_eq!(env.git(&["log", "--format=%s"]), "clan\n");

    // the same without the failure: --no-reboot leaves the reboot phase out; with
    // --no-persist-state no inventory.json
    env.reset();
    let mut all = args.to_vec();
    all[6..8].copy_from_slice(&["--phases", "kexec,disko,install,reboot"]);
    let out = env.clanc(&all, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.read("phases"), "kexec\ndisko\ninstall\n");
    assert!(!env.clan.join("inventory.json").exists());
    assert!(empty(env.tmp.path()));
}

#[test]
fn refusals_prepare_nothing() {
    let env = setup();
    let refuse = |args: &[&str], says: &str| {
        let out = env.clanc(args, &[]);
        let report = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {report}");
        assert!(report.contains(says), "{args:?}: {report}");
        assert!(empty(env.tmp.path()), "{args:?}: something was prepared");
        assert!(
            !env.clan.join("vars").exists(),
            "{args:?}: vars were generated"
        );
        assert!(
            !env.record().join("count").exists(),
            "{args:?}: nixos-anywhere ran"
        );
        assert!(!env.config().exists(), "{args:?}: a key was made");
    };
    let host = ["--target-host", "root@192.0.2.1", "--yes"];
    let with = |first: &[&'static str]| -> Vec<&'static str> {
        let mut all = vec!["machines", "install"];
        all.extend(first);
        all.extend(host);
        all
    };
    refuse(&with(&["../alpha"]), "is not a machine name");
    refuse(&with(&["-x"]), "");
    refuse(&with(&["beta"]), "the clan has no machine `beta`");
    refuse(
        &with(&["alpha", "--phases", "kexec,format"]),
        "unknown phase `format`",
    );
    refuse(
        &with(&["alpha", "--password", "p", "-i", "/k"]),
        "cannot be used with",
    );
    refuse(
        &["machines", "install", "alpha", "--target-host", "root@h"],
        "needs --yes",
    );
    refuse(
        &[
            "machines",
            "install",
            "alpha",
            "--target-host=-oProxyCommand=x",
            "--yes",
        ],
        "target host `-oProxyCommand=x`",
    );
    // without nixos-anywhere on PATH: how to get it, before anything else
    std::fs::remove_file(env.root.path().join("bin/nixos-anywhere")).unwrap();
    refuse(
        &with(&["alpha"]),
        "nix profile install nixpkgs#nixos-anywhere",
    );
}
