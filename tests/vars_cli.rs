//! `clanc vars get` on the seed fleet: public values as they are, secrets decrypted with the
//! admin key from the environment, clear failures without a key or for an altered file.

mod common;

use std::process::Command;

use common::repo;

fn vars_get(
    dir: &std::path::Path,
    machine: &str,
    var: &str,
    key_file: Option<&std::path::Path>,
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clanc"));
    cmd.args(["vars", "get", machine, var]).arg(dir);
    cmd.env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE");
    cmd.env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME");
    if let Some(key) = key_file {
        cmd.env("SOPS_AGE_KEY_FILE", key);
    }
    cmd.output().unwrap()
}

#[test]
fn public_values_and_secrets_of_the_seed_fleet() {
    let dir = repo().join("fixtures/seed-fleet");
    let key = dir.join("TEST-ONLY-admin-age-key.txt");
    let public = vars_get(&dir, "cinnabar", "borgbackup/borgbackup.ssh.pub", None);
    assert_eq!(public.status.code(), Some(0));
    let on_disk =
        std::fs::read(dir.join("vars/per-machine/cinnabar/borgbackup/borgbackup.ssh.pub/value"))
            .unwrap();
    assert_eq!(public.stdout, on_disk);

    let expected = common::read_plaintexts();
    let rel = "vars/per-machine/cinnabar/borgbackup/borgbackup.repokey/secret";
    let secret = vars_get(
        &dir,
        "cinnabar",
        "borgbackup/borgbackup.repokey",
        Some(&key),
    );
    assert_eq!(
        secret.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&secret.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&secret.stdout),
        expected[rel].as_str().unwrap()
    );

    // a shared generator's file is found through any machine
    let shared = vars_get(
        &dir,
        "electrum",
        "github-nix-token/nix-access-tokens",
        Some(&key),
    );
    assert_eq!(shared.status.code(), Some(0));
    assert!(!shared.stdout.is_empty());
}

#[test]
fn failures_are_clear_and_never_show_the_secret() {
    let dir = repo().join("fixtures/seed-fleet");
    let no_key = vars_get(&dir, "cinnabar", "borgbackup/borgbackup.repokey", None);
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("admin age key"));
    assert!(no_key.stdout.is_empty());

    let missing = vars_get(&dir, "cinnabar", "nope/file", None);
    assert_eq!(missing.status.code(), Some(1));
    let usage = vars_get(&dir, "cinnabar", "no-slash", None);
    assert_eq!(usage.status.code(), Some(2));

    // an altered secret in a copy of one machine's vars
    let copy = tempfile::tempdir().unwrap();
    let src = dir.join("vars/per-machine/cinnabar/borgbackup/borgbackup.repokey");
    let dst = copy
        .path()
        .join("vars/per-machine/cinnabar/borgbackup/borgbackup.repokey");
    std::fs::create_dir_all(&dst).unwrap();
    let text = std::fs::read_to_string(src.join("secret")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["sops"]["lastmodified"] = "2000-01-01T00:00:00Z".into();
    std::fs::write(dst.join("secret"), json.to_string()).unwrap();
    let key = dir.join("TEST-ONLY-admin-age-key.txt");
    let tampered = vars_get(
        copy.path(),
        "cinnabar",
        "borgbackup/borgbackup.repokey",
        Some(&key),
    );
    assert_eq!(tampered.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&tampered.stderr);
    assert!(stderr.contains("altered"), "{stderr}");
    assert!(tampered.stdout.is_empty());
}

/// A machine's module written under `lib.mkIf` (`clan.machines.beacon = lib.mkIf true (...)`)
/// is discharged as NixOS does: its generator is listed, and its var found.
#[test]
fn a_generator_in_a_machine_module_under_mkif_counts() {
    let dir = repo().join("tests/golden/wrapped-role-tags/input");
    let list = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["vars", "list", "beacon"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "wg-address/address: fd00::1\n",
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let got = vars_get(&dir, "beacon", "wg-address/address", None);
    assert_eq!(got.status.code(), Some(0));
    assert_eq!(got.stdout, b"fd00::1\n");
}
