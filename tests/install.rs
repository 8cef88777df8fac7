//! `clanc install`: a clear error when nixos-anywhere is missing, and with a recording
//! stand-in `nixos-anywhere` on PATH: the argv clan would build, the `--extra-files` tree
//! (modes, and the right decrypted key) as it was while nixos-anywhere ran, and no secret
//! left on disk afterwards. The clan is the loopback fixture of tests/apply.rs with alpha's
//! generator; `clanc install` generates its vars first.

#[path = "common/loopback.rs"]
mod loopback;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use clanc::vars::{keys, sops};
use loopback::*;

fn install(clan: &Path, path: &str, tmp: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .arg("install")
        .args(extra)
        .arg("--flake")
        .arg(clan)
        .env("PATH", path)
        .env("TMPDIR", tmp)
        .env("SOPS_AGE_KEY_FILE", clan.join(ADMIN_KEY_FILE))
        .env_remove("SOPS_AGE_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("clanc runs")
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

#[test]
fn without_nixos_anywhere_it_says_how_to_get_it() {
    let root = tempfile::tempdir().unwrap();
    let clan = secrets_fixture(root.path(), &[("alpha", 22)]);
    let tmp = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let out = install(
        &clan,
        bin.path().to_str().unwrap(),
        tmp.path(),
        &["alpha", "--target-host", "root@192.0.2.1", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nixos-anywhere, which is not on PATH"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nix profile install nixpkgs#nixos-anywhere"),
        "{stderr}"
    );
    assert!(empty(tmp.path()), "nothing was prepared");
    assert!(!clan.join("vars").exists(), "nothing was generated");
}

/// A stand-in nixos-anywhere: records its arguments, the `--extra-files` tree (mode and
/// path of every entry, and the sha256 of each file, never the content), and exits 0.
const RECORDER: &str = r#"#!/bin/sh
record="$RECORD_DIR"
printf '%s\n' "$@" > "$record/argv"
while [ $# -gt 0 ]; do
  if [ "$1" = --extra-files ]; then
    cd "$2" && find . -printf '%p %m\n' | LC_ALL=C sort > "$record/tree"
    find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2 > "$record/sums"
    stat -c '%a' "$(dirname "$2")" > "$record/private-mode"
    cd /
  fi
  shift
done
"#;

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn nixos_anywhere_gets_clans_argv_and_a_private_tree_that_is_removed() {
    let root = tempfile::tempdir().unwrap();
    let clan = secrets_fixture(root.path(), &[("alpha", 22)]);
    let bin = root.path().join("bin");
    let record = root.path().join("recorded");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&record).unwrap();
    let tool = bin.join("nixos-anywhere");
    std::fs::write(&tool, RECORDER).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args([
            "install",
            "alpha",
            "--target-host",
            "root@192.0.2.1:2222",
            "--yes",
        ])
        .args([
            "--no-reboot",
            "-i",
            "/keys/id",
            "--ssh-option",
            "IdentitiesOnly=yes",
        ])
        .arg("--flake")
        .arg(&clan)
        .env("PATH", &path)
        .env("TMPDIR", tmp.path())
        .env("RECORD_DIR", &record)
        .env("SOPS_AGE_KEY_FILE", clan.join(ADMIN_KEY_FILE))
        .env_remove("SOPS_AGE_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");

    let argv = std::fs::read_to_string(record.join("argv")).unwrap();
    let argv: Vec<&str> = argv.lines().collect();
    let extra = argv[argv.iter().position(|a| *a == "--extra-files").unwrap() + 1];
    assert!(extra.starts_with(tmp.path().to_str().unwrap()), "{extra}");
    assert_eq!(
        argv,
        [
            "--flake",
            &format!("{}#alpha", clan.display()),
            "--extra-files",
            extra,
            "--no-reboot",
            "--ssh-port",
            "2222",
            "-i",
            "/keys/id",
            "--ssh-option",
            "IdentitiesOnly=yes",
            "root@192.0.2.1",
        ]
    );

    // the tree: a system root's modes down to the 0700 secrets directory, the age key 0600,
    // the activation secret with its own mode; inside a private directory
    assert_eq!(
        std::fs::read_to_string(record.join("tree")).unwrap(),
        ". 755\n./var 755\n./var/lib 755\n./var/lib/sops-nix 700\n\
         ./var/lib/sops-nix/activation 700\n./var/lib/sops-nix/activation/per-machine 700\n\
         ./var/lib/sops-nix/activation/per-machine/alpha 700\n\
         ./var/lib/sops-nix/activation/per-machine/alpha/boot 700\n\
         ./var/lib/sops-nix/activation/per-machine/alpha/boot/token 440\n\
         ./var/lib/sops-nix/key.txt 600\n"
    );
    assert_eq!(
        std::fs::read_to_string(record.join("private-mode")).unwrap(),
        "700\n"
    );
    let admin =
        keys::parse_identities(&std::fs::read_to_string(clan.join(ADMIN_KEY_FILE)).unwrap())
            .unwrap();
    let decrypt = |rel: &str| {
        sops::decrypt(&std::fs::read_to_string(clan.join(rel)).unwrap(), &admin)
            .unwrap()
            .to_vec()
    };
    let key = decrypt("sops/secrets/alpha-age.key/secret");
    let token = decrypt("vars/per-machine/alpha/boot/token/secret");
    assert_eq!(
        std::fs::read_to_string(record.join("sums")).unwrap(),
        format!(
            "{}  ./var/lib/sops-nix/activation/per-machine/alpha/boot/token\n{}  \
             ./var/lib/sops-nix/key.txt\n",
            sha256(&token),
            sha256(&key)
        )
    );

    // afterwards: no temporary directory, no secret in the output
    assert!(empty(tmp.path()), "left behind in TMPDIR");
    for secret in [&key, &token] {
        assert!(!report.contains(String::from_utf8_lossy(secret).trim()));
    }

    // a failing nixos-anywhere fails the install, and still leaves nothing behind
    std::fs::write(&tool, "#!/bin/sh\nexit 3\n").unwrap();
    let out = install(
        &clan,
        &path,
        tmp.path(),
        &["alpha", "--target-host", "root@192.0.2.1", "--yes"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("nixos-anywhere failed (exit status 3)"));
    assert!(empty(tmp.path()), "left behind after a failure");

    // without a terminal and without --yes it asks nothing and does nothing
    let out = install(
        &clan,
        &path,
        tmp.path(),
        &["alpha", "--target-host", "root@h"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs --yes"));
}
