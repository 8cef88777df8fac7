//! Tests of the vars checks (V001-V007) through `check_clan`, on clans built by hand
//! (`check::test_support`) and vars listings.

use std::collections::{BTreeMap, BTreeSet};

use rnix::TextRange;

use crate::check::VarsListing;
use crate::check::test_support::*;
use crate::diagnostics::{Code, Severity, Span};
use crate::model::*;

fn generator(name: &str, at_: u32, files: &[&str], deps: &[(&str, u32)]) -> Generator {
    Generator {
        name: name.to_string(),
        span: Some(sp("vars.nix", at_, 1)),
        share: Known::Known(false),
        files: files
            .iter()
            .map(|f| {
                (
                    f.to_string(),
                    VarFile {
                        name: f.to_string(),
                        span: None,
                        secret: Known::Known(true),
                        deploy: Known::Known(true),
                        owner: Spanned::new(Known::Known("root".into()), None),
                        group: Spanned::new(Known::Known("root".into()), None),
                        mode: Spanned::new(Known::Known("0400".into()), None),
                        needed_for: Spanned::new(Known::Known("services".into()), None),
                    },
                )
            })
            .collect(),
        prompts: BTreeMap::new(),
        dependencies: Known::Known(
            deps.iter()
                .map(|(d, at_)| Spanned::new(d.to_string(), Some(sp("vars.nix", *at_, 1))))
                .collect(),
        ),
        script: Spanned::new(Known::Unknown("interpolates packages".into()), None),
        runtime_inputs: Known::Unknown("packages".into()),
    }
}

/// Machine `a` with these generators, and a listing in which all their files exist.
fn vars_clan(generators: Vec<Generator>) -> (Clan, VarsListing) {
    let mut clan = clan();
    let mut listing = VarsListing::default();
    for g in &generators {
        let files = g.files.keys().cloned().collect();
        listing
            .per_machine
            .entry("a".into())
            .or_default()
            .insert(g.name.clone(), files);
    }
    clan.machines.get_mut("a").unwrap().generators = generators
        .into_iter()
        .map(|g| (g.name.clone(), g))
        .collect();
    (clan, listing)
}

#[test]
fn v001_missing_dependency_only_when_generators_are_all_known() {
    let (clan, listing) = vars_clan(vec![
        generator("postgresql-password", 10, &["pw"], &[]),
        generator("nextcloud-admin", 20, &["pw"], &[("postgres-password", 21)]),
    ]);
    let d = only(
        &run_with(&clan, &listing),
        Code::V001,
        Severity::Error,
        sp("vars.nix", 21, 1),
    );
    assert!(d.message.contains("`postgres-password`"));
    assert!(text(&d).contains("did you mean `postgresql-password`?"));

    // `a` is a server of sshd, whose generators live in clan-core: the dependency may be one.
    let (mut clan, listing) = vars_clan(vec![generator(
        "nextcloud-admin",
        20,
        &["pw"],
        &[("openssh", 21)],
    )]);
    add(
        &mut clan,
        instance("sshd", "sshd"),
        vec![role("server", 30).with_tag("all", 31)],
    );
    // What the model says when clan-core's source is not on the machine.
    partial(&mut clan, "a");
    none(&run_with(&clan, &listing));
}

/// The model's note that `machine`'s generators are partial: a clan-core service it takes part
/// in could not be read.
fn partial(clan: &mut Clan, machine: &str) {
    if let Some(m) = clan.machines.get_mut(machine) {
        m.services_failed = Some("clan-core's source is not in the Nix store".into());
    }
}

#[test]
fn v002_cycle_points_into_the_generator_sorting_first() {
    let (clan, listing) = vars_clan(vec![
        generator(
            "matrix-registration",
            10,
            &["k"],
            &[("matrix-signing-key", 11)],
        ),
        generator(
            "matrix-signing-key",
            20,
            &["k"],
            &[("matrix-registration", 21)],
        ),
    ]);
    let d = only(
        &run_with(&clan, &listing),
        Code::V002,
        Severity::Error,
        sp("vars.nix", 11, 1),
    );
    assert!(
        d.message
            .contains("matrix-registration -> matrix-signing-key -> matrix-registration")
    );
}

#[test]
fn v003_missing_files_per_machine_and_shared() {
    let (clan, mut listing) = vars_clan(vec![
        generator("restic", 10, &["password"], &[]),
        generator("healthchecks-url", 20, &["url"], &[]),
    ]);
    listing
        .per_machine
        .get_mut("a")
        .unwrap()
        .remove("healthchecks-url");
    let d = only(
        &run_with(&clan, &listing),
        Code::V003,
        Severity::Warning,
        sp("vars.nix", 20, 1),
    );
    assert!(d.message.contains("healthchecks-url") && d.message.contains("`url`"));
    assert!(text(&d).contains("clanc vars generate --machine a"));

    let mut shared = generator("cache-key", 30, &["key"], &[]);
    shared.share = Known::Known(true);
    let (clan, listing) = vars_clan(vec![shared.clone()]);
    // the listing put it under per-machine: the shared directory is missing
    let out = run_with(&clan, &listing);
    assert!(out.iter().any(|d| d.code == Code::V003
        && d.span == sp("vars.nix", 30, 1)
        && d.message.contains("vars/shared/cache-key")));

    // share unknown: not reported
    let mut unsure = generator("unsure", 40, &["x"], &[]);
    unsure.share = Known::Unknown("depends on config".into());
    let (clan, mut listing) = vars_clan(vec![unsure]);
    listing.per_machine.clear();
    none(&run_with(&clan, &listing));
}

#[test]
fn v004_stale_machine_dir_and_undeclared_generator_dirs() {
    let (clan, mut listing) = vars_clan(vec![generator("restic", 10, &["password"], &[])]);
    listing.per_machine.insert(
        "ferry".into(),
        BTreeMap::from([("x".into(), BTreeSet::new())]),
    );
    let d = only(
        &run_with(&clan, &listing),
        Code::V004,
        Severity::Warning,
        Span::new("vars/per-machine/ferry", TextRange::empty(0.into())),
    );
    assert!(d.message.contains("`ferry`"));

    let (clan, mut listing) = vars_clan(vec![generator("restic", 10, &["password"], &[])]);
    listing
        .per_machine
        .get_mut("a")
        .unwrap()
        .insert("old-gen".into(), BTreeSet::new());
    listing.shared.insert("gone".into(), BTreeSet::new());
    let out = run_with(&clan, &listing);
    let paths: Vec<(Code, &str)> = out.iter().map(|d| (d.code, &*d.span.file)).collect();
    assert_eq!(
        paths,
        [
            (Code::V004, "vars/per-machine/a/old-gen"),
            (Code::V004, "vars/shared/gone")
        ]
    );

    // a machine in a clan-core service: its generators are not all known, nothing is stale
    let (mut clan, mut listing) = vars_clan(vec![generator("restic", 10, &["password"], &[])]);
    listing
        .per_machine
        .get_mut("a")
        .unwrap()
        .insert("openssh".into(), BTreeSet::new());
    listing.shared.insert("zerotier-x".into(), BTreeSet::new());
    add(
        &mut clan,
        instance("sshd", "sshd"),
        vec![role("server", 30).with_machine("a", 31, None)],
    );
    partial(&mut clan, "a");
    none(&run_with(&clan, &listing));
}

#[test]
fn v006_mode_needed_for_and_prompt_type() {
    let mut g = generator("smtp", 10, &["password"], &[]);
    let file = g.files.get_mut("password").unwrap();
    file.mode = Spanned::new(Known::Known("644".into()), Some(sp("vars.nix", 50, 5)));
    file.needed_for = Spanned::new(Known::Known("boot".into()), Some(sp("vars.nix", 60, 6)));
    g.prompts.insert(
        "pw".into(),
        Prompt {
            name: "pw".into(),
            span: None,
            description: Spanned::new(Known::Known("password".into()), None),
            kind: Spanned::new(
                Known::Known("password".into()),
                Some(sp("vars.nix", 70, 10)),
            ),
            persist: Known::Known(false),
        },
    );
    let (clan, listing) = vars_clan(vec![g]);
    let out = run_with(&clan, &listing);
    let got: Vec<(Code, Span)> = out.iter().map(|d| (d.code, d.span.clone())).collect();
    assert_eq!(
        got,
        [
            (Code::V006, sp("vars.nix", 50, 5)),
            (Code::V006, sp("vars.nix", 60, 6)),
            (Code::V006, sp("vars.nix", 70, 10))
        ]
    );
    assert!(text(&out[0]).contains("\"0644\""));
    assert!(out[1].message.contains("\"boot\""));
    assert!(out[2].message.contains("\"password\"") && out[2].message.contains("multiline-hidden"));
}

// ---------------------------------------------------------------- recipients, sharing

#[test]
fn v005_a_linked_user_or_machine_whose_key_the_sops_file_lacks() {
    use crate::model::vars::sops_facts::SecretFacts;
    let (clan, mut listing) = vars_clan(vec![generator("restic", 10, &["password"], &[])]);
    listing
        .sops
        .user_keys
        .insert("alice".into(), vec!["age1alice".into()]);
    listing
        .sops
        .user_keys
        .insert("bob".into(), vec!["age1bob".into()]);
    listing
        .sops
        .machine_keys
        .insert("a".into(), vec!["age1a".into()]);
    let dir = "vars/per-machine/a/restic/password";
    let secret = |users: &[&str], recipients: &[&str]| SecretFacts {
        machines: vec!["a".into()],
        users: users.iter().map(|u| u.to_string()).collect(),
        recipients: Some(recipients.iter().map(|r| r.to_string()).collect()),
    };
    // everyone linked is a recipient
    listing
        .sops
        .secrets
        .insert(dir.into(), secret(&["alice"], &["age1alice", "age1a"]));
    none(&run_with(&clan, &listing));
    // bob is linked but the file was encrypted before his key was added
    listing.sops.secrets.insert(
        dir.into(),
        secret(&["alice", "bob"], &["age1alice", "age1a"]),
    );
    let d = only(
        &run_with(&clan, &listing),
        Code::V005,
        Severity::Error,
        Span::new(format!("{dir}/secret"), TextRange::empty(0.into())),
    );
    assert!(d.message.contains("user `bob`") && d.message.contains("restic/password"));
    // the machine's key changed
    listing
        .sops
        .secrets
        .insert(dir.into(), secret(&["alice"], &["age1alice", "age1old"]));
    let d = only(
        &run_with(&clan, &listing),
        Code::V005,
        Severity::Error,
        Span::new(format!("{dir}/secret"), TextRange::empty(0.into())),
    );
    assert!(d.message.contains("machine `a`"));
    // ... but a generator the machine no longer declares (a stale link), or a secret clan
    // decrypts on the admin's side (activation, partitioning), breaks nothing on `a`
    let mut stale = clan.clone();
    stale.machines.get_mut("a").unwrap().generators.clear();
    let found = run_with(&stale, &listing);
    assert!(found.iter().all(|d| d.code != Code::V005), "{found:?}");
    assert!(
        found.iter().any(|d| d.code == Code::V004),
        "the stale directory: {found:?}"
    );
    for needed_for in ["activation", "partitioning"] {
        let mut uploaded = clan.clone();
        let file = (uploaded.machines.get_mut("a").unwrap().generators)
            .get_mut("restic")
            .and_then(|g| g.files.get_mut("password"))
            .unwrap();
        file.needed_for = Spanned::new(Known::Known(needed_for.into()), None);
        none(&run_with(&uploaded, &listing));
    }
    // an unreadable file, or a user without key.json: nothing to say
    listing.sops.secrets.insert(
        dir.into(),
        SecretFacts {
            recipients: None,
            ..secret(&["bob"], &[])
        },
    );
    none(&run_with(&clan, &listing));
    listing
        .sops
        .secrets
        .insert(dir.into(), secret(&["carol"], &["age1a"]));
    none(&run_with(&clan, &listing));
}

#[test]
fn v005_a_deployed_secret_without_its_machine_only_when_sops_nix_decrypts_it() {
    let (clan, mut listing) = vars_clan(vec![generator("initrd-ssh", 10, &["key"], &[])]);
    let key = ("a".to_string(), "initrd-ssh".to_string(), "key".to_string());
    listing.secrets.insert(key, BTreeSet::new());
    let d = only(
        &run_with(&clan, &listing),
        Code::V005,
        Severity::Error,
        Span::new(
            "vars/per-machine/a/initrd-ssh/key/secret",
            TextRange::empty(0.into()),
        ),
    );
    assert!(d.message.contains("not encrypted for it"), "{}", d.message);
    // clan decrypts activation and partitioning secrets itself and uploads them
    for needed_for in ["activation", "partitioning"] {
        let mut uploaded = clan.clone();
        let file = (uploaded.machines.get_mut("a").unwrap().generators)
            .get_mut("initrd-ssh")
            .and_then(|g| g.files.get_mut("key"))
            .unwrap();
        file.needed_for = Spanned::new(Known::Known(needed_for.into()), None);
        none(&run_with(&uploaded, &listing));
    }
}

fn shared(name: &str, at_: u32, files: &[&str], script: &str) -> Generator {
    let mut g = generator(name, at_, files, &[]);
    g.share = Known::Known(true);
    g.script = Spanned::new(Known::Known(script.to_string()), None);
    g
}

/// Machines `a` and `b` each declare `gen_a` / `gen_b`; the listing has the shared files.
fn shared_clan(gen_a: Generator, gen_b: Generator) -> (Clan, VarsListing) {
    let mut clan = clan();
    let mut listing = VarsListing::default();
    for g in [&gen_a, &gen_b] {
        listing
            .shared
            .insert(g.name.clone(), g.files.keys().cloned().collect());
    }
    clan.machines.get_mut("a").unwrap().generators = BTreeMap::from([(gen_a.name.clone(), gen_a)]);
    clan.machines.get_mut("b").unwrap().generators = BTreeMap::from([(gen_b.name.clone(), gen_b)]);
    (clan, listing)
}

#[test]
fn v007_shared_generator_declared_differently() {
    // the same declaration (one module imported twice), or equal ones: fine
    let g = shared("wifi", 10, &["psk"], "pwgen > $out/psk");
    let (clan, listing) = shared_clan(g.clone(), g.clone());
    none(&run_with(&clan, &listing));
    let (clan, listing) = shared_clan(
        g.clone(),
        shared("wifi", 50, &["psk"], "pwgen > $out/psk\n"),
    );
    none(&run_with(&clan, &listing));

    // different files
    let (clan, listing) = shared_clan(g.clone(), shared("wifi", 50, &["psk", "ssid"], "x"));
    let d = only(
        &run_with(&clan, &listing),
        Code::V007,
        Severity::Error,
        sp("vars.nix", 50, 1),
    );
    assert!(
        d.message.contains("`wifi`") && d.message.contains("`a` and `b`"),
        "{d:?}"
    );
    assert!(d.message.contains("ssid"));
    assert_eq!(d.labels[0].span, sp("vars.nix", 10, 1));

    // different scripts
    let (clan, listing) = shared_clan(g.clone(), shared("wifi", 50, &["psk"], "openssl rand"));
    let d = only(
        &run_with(&clan, &listing),
        Code::V007,
        Severity::Error,
        sp("vars.nix", 50, 1),
    );
    assert!(d.message.contains("scripts differ"));

    // different dependencies; a secret on one side only
    let mut other = shared("wifi", 50, &["psk"], "pwgen > $out/psk");
    other.dependencies = Known::Known(vec![Spanned::new("ca".to_string(), None)]);
    let (clan, listing) = shared_clan(g.clone(), other);
    let out = run_with(&clan, &listing);
    assert!(
        out.iter()
            .any(|d| d.code == Code::V007 && d.message.contains("dependencies")),
        "{out:#?}"
    );
    let mut other = shared("wifi", 50, &["psk"], "pwgen > $out/psk");
    other.files.get_mut("psk").unwrap().secret = Known::Known(false);
    let (clan, listing) = shared_clan(g.clone(), other);
    let d = only(
        &run_with(&clan, &listing),
        Code::V007,
        Severity::Error,
        sp("vars.nix", 50, 1),
    );
    assert!(d.message.contains("secret on one"));

    // an unknown script cannot be compared: silent
    let mut other = shared("wifi", 50, &["psk"], "");
    other.script = Spanned::new(Known::Unknown("interpolates packages".into()), None);
    let (clan, listing) = shared_clan(g.clone(), other);
    none(&run_with(&clan, &listing));
}
