//! sops compatibility: clanc reads every file sops wrote through clan (the shared vectors and
//! the seed fleet's secrets), rejects altered files, and what clanc writes opens with two
//! independent implementations: the npm package sops-age and the sops binary (which also
//! checks the MAC). `scripts/test` installs both under `target/test-tools`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use age::x25519;
use clanc::vars::{keys, sops};
use common::repo;

fn vectors() -> PathBuf {
    let dir = repo().join("../shared/reference/sops-vectors");
    assert!(
        dir.is_dir(),
        "the shared sops vectors are expected at {}",
        dir.display()
    );
    dir
}

fn identities_of(file: &Path) -> Vec<x25519::Identity> {
    keys::parse_identities(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn text_identity(secret: &[u8]) -> x25519::Identity {
    let text = std::str::from_utf8(secret).unwrap();
    keys::parse_identities(text).unwrap().remove(0)
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_vector_decrypts_to_its_plaintext_with_the_admin_key() {
    let dir = vectors();
    let admin = identities_of(&dir.join("admin-age-key.txt"));
    let plaintexts = read_json(&dir.join("plaintexts.json"));
    let plaintexts = plaintexts.as_object().unwrap();
    assert_eq!(plaintexts.len(), 5);
    for (rel, expected) in plaintexts {
        let text = std::fs::read_to_string(dir.join(rel)).unwrap();
        let plain = sops::decrypt(&text, &admin).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(
            plain.as_slice(),
            expected.as_str().unwrap().as_bytes(),
            "{rel}"
        );
    }
}

#[test]
fn machine_secrets_decrypt_with_the_machine_key_clan_uploads() {
    let dir = vectors().join("clan-dummy");
    let admin = identities_of(&vectors().join("admin-age-key.txt"));
    for machine in ["admin1", "peer1"] {
        let key_file = dir.join(format!("sops/secrets/{machine}-age.key/secret"));
        let secret = sops::decrypt(&std::fs::read_to_string(key_file).unwrap(), &admin).unwrap();
        let identity = text_identity(&secret);
        let public = std::fs::read_to_string(dir.join(format!("sops/machines/{machine}/key.json")));
        assert_eq!(
            keys::parse_key_json(&public.unwrap()).unwrap()[0].to_string(),
            identity.to_public().to_string()
        );
        let secret_file = dir.join(format!(
            "vars/per-machine/{machine}/dummy-generator/generated-password/secret"
        ));
        let text = std::fs::read_to_string(secret_file).unwrap();
        let plain = sops::decrypt(&text, &[identity]).unwrap();
        assert!(plain.ends_with(b"\n") && plain.len() > 1);
    }
}

#[test]
fn altered_files_are_rejected() {
    let dir = vectors();
    let admin = identities_of(&dir.join("admin-age-key.txt"));
    let path = dir.join("clan-dummy/vars/per-machine/peer1/new-service/a-secret/secret");
    let original: serde_json::Value = read_json(&path);

    // a flipped ciphertext character
    let mut file = original.clone();
    let data = file["data"]
        .as_str()
        .unwrap()
        .replacen("data:p", "data:q", 1);
    file["data"] = data.into();
    assert_eq!(
        sops::decrypt(&file.to_string(), &admin).unwrap_err(),
        sops::SopsError::Tampered("value")
    );

    // a changed modification time (the MAC's additional data)
    let mut file = original.clone();
    file["sops"]["lastmodified"] = "2025-05-04T12:44:21Z".into();
    assert_eq!(
        sops::decrypt(&file.to_string(), &admin).unwrap_err(),
        sops::SopsError::Tampered("MAC")
    );

    // another file's MAC
    let other = read_json(
        &dir.join("clan-dummy/vars/per-machine/peer1/dummy-generator/generated-password/secret"),
    );
    let mut file = original.clone();
    file["sops"]["mac"] = other["sops"]["mac"].clone();
    assert!(sops::decrypt(&file.to_string(), &admin).is_err());

    // not a sops file at all
    assert!(matches!(
        sops::decrypt("{}", &admin),
        Err(sops::SopsError::Format(_))
    ));
}

#[test]
fn seed_fleet_secrets_decrypt_with_its_test_admin_key() {
    let root = repo().join("fixtures/seed-fleet");
    let admin = identities_of(&root.join("TEST-ONLY-admin-age-key.txt"));
    let expected = read_json(&repo().join("fixtures/seed-fleet-plaintexts.json"));
    let mut checked = 0;
    for (rel, want) in expected["files"].as_object().unwrap() {
        if rel.ends_with(".yaml") {
            continue; // legacy sops-nix YAML: not clan's binary format
        }
        let text = std::fs::read_to_string(root.join(rel)).unwrap();
        let plain = sops::decrypt(&text, &admin).unwrap_or_else(|e| panic!("{rel}: {e}"));
        match want {
            serde_json::Value::String(s) => assert_eq!(plain.as_slice(), s.as_bytes(), "{rel}"),
            other => {
                let public = other["age_identity_with_public_key"].as_str().unwrap();
                assert_eq!(
                    text_identity(&plain).to_public().to_string(),
                    public,
                    "{rel}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} files checked");
}

fn test_tools() -> PathBuf {
    let dir = std::env::var_os("CLANC_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/test-tools"));
    assert!(
        dir.join("node/node_modules/sops-age").is_dir() && dir.join("venv/bin/sops").is_file(),
        "sops-age and sops are not installed under {}: run ./scripts/test",
        dir.display()
    );
    dir
}

#[test]
fn clanc_written_secrets_open_with_sops_age_and_sops() {
    let tools = test_tools();
    let work = tempfile::tempdir().unwrap();
    let admin = x25519::Identity::generate();
    let machine = x25519::Identity::generate();
    let key_file = work.path().join("keys.txt");
    let admin_secret = age::secrecy::ExposeSecret::expose_secret(&admin.to_string()).to_string();
    std::fs::write(&key_file, format!("# throwaway test key\n{admin_secret}\n")).unwrap();

    for plaintext in ["a-secret", "line one\nline \"two\" ✓\n", ""] {
        let text = sops::encrypt(
            plaintext.as_bytes(),
            &[machine.to_public(), admin.to_public()],
            &sops::rfc3339_utc(1_764_144_000),
        )
        .unwrap();
        let file = work.path().join("secret");
        std::fs::write(&file, &text).unwrap();

        let node = Command::new("node")
            .current_dir(tools.join("node"))
            .args(["--input-type=module", "-e"])
            .arg(concat!(
                "import { decryptSops } from 'sops-age';",
                "import { readFileSync } from 'node:fs';",
                "const out = await decryptSops(readFileSync(process.argv[1], 'utf8'),",
                " { secretKey: process.argv[2], fileType: 'json' });",
                "process.stdout.write(out.data ?? '');"
            ))
            .arg(&file)
            .arg(&admin_secret)
            .output()
            .unwrap();
        assert!(
            node.status.success(),
            "sops-age: {}",
            String::from_utf8_lossy(&node.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&node.stdout), plaintext, "sops-age");

        let sops_bin = Command::new(tools.join("venv/bin/sops"))
            .args([
                "decrypt",
                "--input-type",
                "binary",
                "--output-type",
                "binary",
            ])
            .arg(&file)
            .env("SOPS_AGE_KEY_FILE", &key_file)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env_remove("SOPS_AGE_KEY")
            .output()
            .unwrap();
        assert!(
            sops_bin.status.success(),
            "sops: {}",
            String::from_utf8_lossy(&sops_bin.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&sops_bin.stdout), plaintext, "sops");
    }
}
