//! sops compatibility, in both directions, against the real tools.
//!
//! Read: a clan laid out as clan writes it (`sops/users`, `sops/machines/<m>/key.json`, each
//! machine's age key in `sops/secrets/<m>-age.key/secret`, vars under `vars/per-machine` and
//! `vars/shared` with their recipient links) is made during the run, its keys by the real
//! `age-keygen` and every secret by the real `sops` binary called as clan calls it
//! (`clan_cli/secrets/sops.py`: a creation rule with the recipients in a `--config` file,
//! `encrypt --in-place` on a temporary file with no extension, so the binary format). clanc
//! must open every file to its plaintext, with the admin key and with the machine keys the
//! clan holds, and must reject altered files. The seed fleet's committed secrets are read too.
//!
//! Write: what clanc writes opens with two independent implementations, the npm package
//! sops-age and the sops binary (which also checks the MAC). `scripts/test` installs both
//! under `target/test-tools` (`CLANC_TEST_TOOLS`), and `age` with apt.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use age::x25519;
use clanc::vars::store::{Recipients, StoredKind, VarsTree};
use clanc::vars::{keys, sops};
use common::repo;

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

/// A fresh age key from the real `age-keygen`: the key file's text (comments included, as
/// `age-keygen` prints it) and its public key.
fn age_keygen() -> (String, String) {
    let out = Command::new("age-keygen")
        .output()
        .expect("age-keygen runs (scripts/test installs age)");
    assert!(
        out.status.success(),
        "age-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen prints the public key")
        .to_string();
    (text, public)
}

/// The identity line of an `age-keygen` key file: what clan keeps of it as a machine's key
/// (`generate_private_key`: the one line that is not a comment).
fn identity_line(key_file: &str) -> &str {
    key_file
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("an identity line")
}

/// `to` written as a path relative to the directory `from` (both under the same root), as
/// clan's links are (`os.path.relpath`).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut path = PathBuf::new();
    for _ in from.components().skip(common) {
        path.push("..");
    }
    path.extend(to.components().skip(common));
    path
}

/// A clan's `sops/` and `vars/` trees made by the real tools, as clan makes them.
struct ClanDummy {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// The admin's key file (`sops/users/admin`), as `age-keygen` wrote it.
    admin_key: PathBuf,
    /// Every secret file (relative to `root`) and its plaintext.
    plaintexts: BTreeMap<String, Vec<u8>>,
    sops: PathBuf,
}

impl ClanDummy {
    /// The clan of clan-core's own sops test (`checks/service-dummy-test`): machines `admin1`
    /// and `peer1`, user `admin`; per machine a `dummy-generator` with a secret
    /// `generated-password` and a public `host-id`, on `peer1` a `new-service` with a secret
    /// and a public file; plus a shared generator holding a secret that is not UTF-8.
    fn new() -> ClanDummy {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("clan");
        let sops = test_tools().join("venv/bin/sops");
        let (admin_text, admin_public) = age_keygen();
        let admin_key = dir.path().join("admin-age-key.txt");
        std::fs::write(&admin_key, &admin_text).unwrap();
        let mut clan = ClanDummy {
            _dir: dir,
            root,
            admin_key,
            plaintexts: BTreeMap::new(),
            sops,
        };
        // `sops/users/<u>/key.json` as clan-core's test clan holds it: one object
        clan.write(
            "sops/users/admin/key.json",
            format!("{{\n  \"publickey\": \"{admin_public}\",\n  \"type\": \"age\"\n}}\n")
                .as_bytes(),
        );
        let mut machine_keys = BTreeMap::new();
        for machine in ["admin1", "peer1"] {
            // `ensure_machine_key`: the identity encrypted for the admins, then the public
            // key as a list (`write_keys`)
            let (text, public) = age_keygen();
            clan.secret(
                &format!("sops/secrets/{machine}-age.key"),
                identity_line(&text).as_bytes(),
                &[],
            );
            clan.write(
                &format!("sops/machines/{machine}/key.json"),
                format!(
                    "[\n  {{\n    \"publickey\": \"{public}\",\n    \"type\": \"age\"\n  }}\n]"
                )
                .as_bytes(),
            );
            machine_keys.insert(machine, public);
        }
        let per_machine: [(&str, &str, &str, &[u8]); 3] = [
            ("admin1", "dummy-generator", "generated-password", b"2550\n"),
            ("peer1", "dummy-generator", "generated-password", b"30102\n"),
            ("peer1", "new-service", "a-secret", b"a-secret"),
        ];
        for (machine, generator, file, plaintext) in per_machine {
            clan.secret(
                &format!("vars/per-machine/{machine}/{generator}/{file}"),
                plaintext,
                &[machine],
            );
        }
        for (machine, value) in [("admin1", "8d3a51c2\n"), ("peer1", "f00dcafe\n")] {
            clan.write(
                &format!("vars/per-machine/{machine}/dummy-generator/host-id/value"),
                value.as_bytes(),
            );
        }
        clan.write(
            "vars/per-machine/peer1/new-service/not-a-secret/value",
            b"not-a-secret",
        );
        clan.secret(
            "vars/shared/shared-generator/binary-key",
            b"\xff\x00\xfe key\n",
            &["admin1", "peer1"],
        );
        clan
    }

    fn write(&self, rel: &str, content: &[u8]) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// `encrypt_secret`: the recipient links (`machines/<m>`, `users/admin`) beside the
    /// secret, then the value encrypted for every linked key by `sops`.
    fn secret(&mut self, rel: &str, plaintext: &[u8], machines: &[&str]) {
        let dir = self.root.join(rel);
        let mut recipients = Vec::new();
        for (kind, name) in machines
            .iter()
            .map(|m| ("machines", *m))
            .chain([("users", "admin")])
        {
            let source = self.root.join("sops").join(kind).join(name);
            let link = dir.join(kind).join(name);
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(relative(link.parent().unwrap(), &source), &link).unwrap();
            let key = std::fs::read_to_string(source.join("key.json")).unwrap();
            recipients.extend(
                keys::parse_key_json(&key)
                    .unwrap()
                    .iter()
                    .map(|r| r.to_string()),
            );
        }
        recipients.sort();
        let text = self.sops_encrypt(plaintext, &recipients);
        self.write(&format!("{rel}/secret"), text.as_bytes());
        self.plaintexts
            .insert(format!("{rel}/secret"), plaintext.to_vec());
    }

    /// `sops_run(ENCRYPT)`: a creation rule with one key group in a `--config` file, the
    /// value in a file without extension (binary format) encrypted in place, and no `SOPS_*`
    /// variables but the key ones.
    fn sops_encrypt(&self, plaintext: &[u8], recipients: &[String]) -> String {
        let work = tempfile::tempdir().unwrap();
        let manifest = work.path().join("manifest");
        let rules = serde_json::json!({
            "creation_rules": [{ "key_groups": [{ "age": recipients, "pgp": [] }] }]
        });
        std::fs::write(&manifest, serde_json::to_string_pretty(&rules).unwrap()).unwrap();
        let source = work.path().join("tmpvalue");
        std::fs::write(&source, plaintext).unwrap();
        let mut cmd = Command::new(&self.sops);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("SOPS_")
                && !["SOPS_GPG_EXEC", "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"].contains(&name.as_str())
            {
                cmd.env_remove(&name);
            }
        }
        let out = cmd
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .arg("--config")
            .arg(&manifest)
            .args(["encrypt", "--in-place"])
            .arg(&source)
            .output()
            .expect("sops runs");
        assert!(
            out.status.success(),
            "sops encrypt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&source).unwrap()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }

    fn admin(&self) -> Vec<x25519::Identity> {
        identities_of(&self.admin_key)
    }
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
fn every_file_sops_wrote_decrypts_to_its_plaintext_with_the_admin_key() {
    let clan = ClanDummy::new();
    let admin = clan.admin();
    assert_eq!(clan.plaintexts.len(), 6);
    for (rel, expected) in &clan.plaintexts {
        let text = clan.read(rel);
        let plain = sops::decrypt(&text, &admin).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(plain.as_slice(), expected.as_slice(), "{rel}");
        // the file is sops's own binary format, not something clanc wrote
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            file["data"]
                .as_str()
                .unwrap()
                .starts_with("ENC[AES256_GCM,data:")
        );
        assert_ne!(file["sops"]["version"], "", "{rel}");
    }
    // and none opens with a key that is no recipient
    let (stranger, _) = age_keygen();
    let stranger = keys::parse_identities(&stranger).unwrap();
    for rel in clan.plaintexts.keys() {
        assert_eq!(
            sops::decrypt(&clan.read(rel), &stranger).unwrap_err(),
            sops::SopsError::NoMatchingIdentity,
            "{rel}"
        );
    }
}

#[test]
fn machine_secrets_decrypt_with_the_machine_key_clan_uploads() {
    let clan = ClanDummy::new();
    let admin = clan.admin();
    for machine in ["admin1", "peer1"] {
        let key_file = format!("sops/secrets/{machine}-age.key/secret");
        let secret = sops::decrypt(&clan.read(&key_file), &admin).unwrap();
        let identity = text_identity(&secret);
        let public = clan.read(&format!("sops/machines/{machine}/key.json"));
        assert_eq!(
            keys::parse_key_json(&public).unwrap()[0].to_string(),
            identity.to_public().to_string()
        );
        let secret_file =
            format!("vars/per-machine/{machine}/dummy-generator/generated-password/secret");
        let plain =
            sops::decrypt(&clan.read(&secret_file), std::slice::from_ref(&identity)).unwrap();
        assert!(plain.ends_with(b"\n") && plain.len() > 1);
        assert_eq!(plain.as_slice(), clan.plaintexts[&secret_file].as_slice());
        let shared = "vars/shared/shared-generator/binary-key/secret";
        let plain = sops::decrypt(&clan.read(shared), &[identity]).unwrap();
        assert_eq!(plain.as_slice(), b"\xff\x00\xfe key\n");
    }
    // a machine's key opens no other machine's secrets
    let peer1 = text_identity(
        &sops::decrypt(&clan.read("sops/secrets/peer1-age.key/secret"), &admin).unwrap(),
    );
    assert!(
        sops::decrypt(
            &clan.read("vars/per-machine/admin1/dummy-generator/generated-password/secret"),
            &[peer1]
        )
        .is_err()
    );
}

#[test]
fn the_vars_tree_reads_with_clans_recipient_links() {
    let clan = ClanDummy::new();
    let tree = VarsTree::read(&clan.root).unwrap();
    let kind = |m: &str, g: &str, f: &str| tree.find(m, g, f).map(|s| s.kind.clone());
    let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        kind("peer1", "new-service", "a-secret"),
        Some(StoredKind::Secret(Recipients {
            machines: owned(&["peer1"]),
            users: owned(&["admin"]),
            groups: vec![],
        }))
    );
    assert_eq!(
        kind("peer1", "new-service", "not-a-secret"),
        Some(StoredKind::Public)
    );
    assert_eq!(
        kind("admin1", "shared-generator", "binary-key"),
        Some(StoredKind::Secret(Recipients {
            machines: owned(&["admin1", "peer1"]),
            users: owned(&["admin"]),
            groups: vec![],
        }))
    );
    // every secret of the tree names, in its links, exactly the keys sops encrypted it for
    let mut checked = 0;
    let per_machine = tree.per_machine.values().flat_map(|g| g.values());
    for generator in per_machine.chain(tree.shared.values()) {
        for file in generator.files.values() {
            let StoredKind::Secret(links) = &file.kind else {
                continue;
            };
            let text = std::fs::read_to_string(file.dir.join("secret")).unwrap();
            let mut linked: Vec<String> = links
                .machines
                .iter()
                .map(|m| ("machines", m))
                .chain(links.users.iter().map(|u| ("users", u)))
                .map(|(kind, name)| {
                    let key =
                        std::fs::read_to_string(file.dir.join(kind).join(name).join("key.json"))
                            .unwrap();
                    keys::parse_key_json(&key).unwrap()[0].to_string()
                })
                .collect();
            linked.sort();
            let mut written = sops::recipients(&text).unwrap();
            written.sort();
            assert_eq!(linked, written, "{}", file.dir.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 4, "the four secrets under vars/");
}

#[test]
fn altered_files_are_rejected() {
    let clan = ClanDummy::new();
    let admin = clan.admin();
    let rel = "vars/per-machine/peer1/new-service/a-secret/secret";
    let original: serde_json::Value = read_json(&clan.root.join(rel));

    // a flipped ciphertext character (still base64)
    let mut file = original.clone();
    let data = file["data"].as_str().unwrap();
    let at = data.find("data:").unwrap() + "data:".len();
    let flipped = if &data[at..=at] == "A" { "B" } else { "A" };
    file["data"] = format!("{}{flipped}{}", &data[..at], &data[at + 1..]).into();
    assert_eq!(
        sops::decrypt(&file.to_string(), &admin).unwrap_err(),
        sops::SopsError::Tampered("value")
    );

    // a changed modification time (the MAC's additional data)
    let mut file = original.clone();
    assert_ne!(file["sops"]["lastmodified"], "2025-05-04T12:44:21Z");
    file["sops"]["lastmodified"] = "2025-05-04T12:44:21Z".into();
    assert_eq!(
        sops::decrypt(&file.to_string(), &admin).unwrap_err(),
        sops::SopsError::Tampered("MAC")
    );

    // another file's MAC
    let other = read_json(
        &clan
            .root
            .join("vars/per-machine/peer1/dummy-generator/generated-password/secret"),
    );
    let mut file = original.clone();
    file["sops"]["mac"] = other["sops"]["mac"].clone();
    assert!(sops::decrypt(&file.to_string(), &admin).is_err());

    // the untouched file still opens: the changes above are what failed
    assert_eq!(
        sops::decrypt(&original.to_string(), &admin)
            .unwrap()
            .as_slice(),
        b"a-secret"
    );

    // not a sops file at all
    assert!(matches!(
        sops::decrypt("{}", &admin),
        Err(sops::SopsError::Format(_))
    ));

    // The rest of the document is authenticated as sops does: an extra key (encrypted, or
    // unencrypted by its suffix) and a value of another type are refused by clanc and by the
    // real sops alike.
    let mut extra = original.clone();
    extra["extra"] = original["data"].clone();
    let mut unencrypted = original.clone();
    unencrypted["note_unencrypted"] = "hello".into();
    let mut bytes = original.clone();
    bytes["data"] = original["data"]
        .as_str()
        .unwrap()
        .replace("type:str", "type:bytes")
        .into();
    let key_file = &clan.admin_key;
    for (what, file) in [
        ("extra", extra),
        ("unencrypted", unencrypted),
        ("bytes", bytes),
    ] {
        let text = file.to_string();
        assert!(
            matches!(
                sops::decrypt(&text, &admin),
                Err(sops::SopsError::Format(_))
            ),
            "clanc accepted the {what} file"
        );
        let path = clan.root.join(format!("altered-{what}"));
        std::fs::write(&path, &text).unwrap();
        let real = Command::new(test_tools().join("venv/bin/sops"))
            .args([
                "decrypt",
                "--input-type",
                "binary",
                "--output-type",
                "binary",
            ])
            .arg(&path)
            .env("SOPS_AGE_KEY_FILE", key_file)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env_remove("SOPS_AGE_KEY")
            .output()
            .unwrap();
        assert!(!real.status.success(), "sops accepted the {what} file");
    }
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

#[test]
fn clanc_written_secrets_open_with_sops_age_and_sops() {
    let tools = test_tools();
    let work = tempfile::tempdir().unwrap();
    let admin = x25519::Identity::generate();
    let machine = x25519::Identity::generate();
    let key_file = work.path().join("keys.txt");
    let admin_secret = age::secrecy::ExposeSecret::expose_secret(&admin.to_string()).to_string();
    std::fs::write(&key_file, format!("# throwaway test key\n{admin_secret}\n")).unwrap();
    let machine_key_file = work.path().join("machine.txt");
    let machine_secret =
        age::secrecy::ExposeSecret::expose_secret(&machine.to_string()).to_string();
    std::fs::write(&machine_key_file, format!("{machine_secret}\n")).unwrap();

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

        // as clan reads a secret (`decrypt_file`): `sops decrypt <dir>/secret`, the binary
        // format known from a name without extension; the admin's key and the machine's open it
        for key in [&key_file, &machine_key_file] {
            let sops_bin = Command::new(tools.join("venv/bin/sops"))
                .arg("decrypt")
                .arg(&file)
                .env("SOPS_AGE_KEY_FILE", key)
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
}
