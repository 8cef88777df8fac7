//! Tests of the legacy sops-nix checks (S001-S003) through `check_clan`, on clans built by
//! hand (`check::test_support`) and sops listings.

use crate::check::VarsListing;
use crate::check::test_support::*;
use crate::diagnostics::{Code, Severity};
use crate::model::*;

fn sops_clan(
    file: &str,
    key: &str,
    facts: crate::model::vars::sops_facts::SopsFileFacts,
) -> (Clan, VarsListing) {
    let mut clan = clan();
    clan.machines.get_mut("a").unwrap().sops_secrets = vec![SopsSecret {
        name: "db-password".into(),
        span: Some(sp("sops.nix", 1, 11)),
        sops_file: Some(known(file.to_string(), 20)),
        key: known(key.to_string(), 40),
        format: Known::Known("yaml".into()),
        home_user: None,
    }];
    let mut listing = VarsListing::default();
    listing.sops.files.insert(file.into(), facts);
    listing
        .sops
        .machine_keys
        .insert("a".into(), vec!["age1a".into()]);
    (clan, listing)
}

#[test]
fn s001_s002_s003_legacy_sops_files() {
    use crate::model::vars::sops_facts::SopsFileFacts;
    let read = |keys: &[&str], recipients: &[&str]| SopsFileFacts::Read {
        keys: Some(keys.iter().map(|k| k.to_string()).collect()),
        recipients: Some(recipients.iter().map(|r| r.to_string()).collect()),
    };
    let (clan, listing) = sops_clan(
        "secrets/a.yaml",
        "db/password",
        read(&["db", "db/password"], &["age1a"]),
    );
    none(&run_with(&clan, &listing));

    let (clan, listing) = sops_clan("secrets/a.yaml", "db/password", SopsFileFacts::Missing);
    let d = only(
        &run_with(&clan, &listing),
        Code::S001,
        Severity::Error,
        sp("inv.nix", 20, 1),
    );
    assert!(d.message.contains("secrets/a.yaml") && d.message.contains("db-password"));

    let (clan, listing) = sops_clan(
        "secrets/a.yaml",
        "db/pasword",
        read(&["db", "db/password"], &["age1a"]),
    );
    let d = only(
        &run_with(&clan, &listing),
        Code::S002,
        Severity::Error,
        sp("inv.nix", 40, 1),
    );
    assert!(text(&d).contains("db/password"), "{d:?}");

    let (clan, listing) = sops_clan(
        "secrets/a.yaml",
        "db/password",
        read(&["db/password"], &["age1admin"]),
    );
    let d = only(
        &run_with(&clan, &listing),
        Code::S003,
        Severity::Error,
        sp("inv.nix", 20, 1),
    );
    assert!(d.message.contains("machine `a`"));
    // ... unless sops-nix on `a` decrypts with a key of its own (`sops.age.keyFile`)
    let mut own_key = clan.clone();
    own_key.machines.get_mut("a").unwrap().sops_key_elsewhere =
        Some("`sops.age.keyFile` is `/home/ada/.config/sops/age/keys.txt`".into());
    none(&run_with(&own_key, &listing));

    // ... nor for a home-manager user's secret, which opens with the user's own key file
    let mut home = clan.clone();
    home.machines.get_mut("a").unwrap().sops_secrets[0].home_user = Some("ada".into());
    none(&run_with(&home, &listing));
    let (mut clan, listing) = sops_clan("secrets/a.yaml", "db/password", SopsFileFacts::Missing);
    clan.machines.get_mut("a").unwrap().sops_secrets[0].home_user = Some("ada".into());
    let d = only(
        &run_with(&clan, &listing),
        Code::S001,
        Severity::Error,
        sp("inv.nix", 20, 1),
    );
    assert!(d.message.contains("home-manager user `ada` on machine `a`"));
    // a secret whose format is not known: its key is not looked up
    let (mut clan, listing) = sops_clan(
        "secrets/a.yaml",
        "db/pasword",
        read(&["db", "db/password"], &["age1a"]),
    );
    clan.machines.get_mut("a").unwrap().sops_secrets[0].format =
        Known::Unknown("`sops.defaultSopsFormat` is unknown".into());
    none(&run_with(&clan, &listing));

    // not read (e.g. `clanc check` without the files), or keys unknown (binary): silent
    let (clan, mut listing) = sops_clan("secrets/a.yaml", "x", SopsFileFacts::Missing);
    listing.sops.files.clear();
    none(&run_with(&clan, &listing));
    let (clan, listing) = sops_clan(
        "secrets/a.bin",
        "x",
        SopsFileFacts::Read {
            keys: None,
            recipients: Some(vec!["age1a".into()]),
        },
    );
    none(&run_with(&clan, &listing));
}
