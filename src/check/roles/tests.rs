//! Tests of the role checks (C001-C005, C009, C010, C013) through `check_clan`, on clans built
//! by hand (`check::test_support`).

use std::collections::BTreeMap;

use crate::check::test_support::*;
use crate::check::{VarsListing, check_clan};
use crate::diagnostics::{Code, Severity};
use crate::model::*;
use crate::services::catalog::Catalog;

#[test]
fn c001_undefined_machine_with_suggestion() {
    let mut clan = clan();
    clan.machines.insert(
        "cinnabar".into(),
        machine("cinnabar", MachineClass::Nixos, &[]),
    );
    add(
        &mut clan,
        instance("zt", "zerotier"),
        vec![
            role("controller", 10).with_machine("a", 11, None),
            role("peer", 12).with_machine("cinabar", 13, None),
        ],
    );
    let d = only(
        &run(&clan),
        Code::C001,
        Severity::Error,
        sp("inv.nix", 13, 1),
    );
    assert!(d.message.contains("`cinabar`"), "{}", d.message);
    assert!(
        text(&d).contains("did you mean `cinnabar`?"),
        "{}",
        text(&d)
    );
}

#[test]
fn c001_is_silent_when_the_machines_are_not_all_known() {
    let mut clan = clan();
    clan.unknowns.push(UnknownNote {
        subject: "inventory.machines".into(),
        reason: "computed from an input".into(),
        span: None,
    });
    add(
        &mut clan,
        instance("zt", "zerotier"),
        vec![
            role("controller", 10).with_machine("a", 11, None),
            role("peer", 12).with_machine("elsewhere", 13, None),
        ],
    );
    none(&run(&clan));
}

#[test]
fn c002_role_the_service_does_not_define() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![role("servers", 20).with_machine("a", 21, None)],
    );
    let d = only(
        &run(&clan),
        Code::C002,
        Severity::Error,
        sp("inv.nix", 20, 1),
    );
    assert!(d.message.contains("`servers`") && d.message.contains("`client`, `server`"));
    assert!(text(&d).contains("did you mean `server`?"));
}

#[test]
fn c002_for_a_flake_service_and_silence_for_unknown_ones() {
    let mut clan = clan();
    let service = Catalog::builtin().service("hello-world").unwrap().clone();
    clan.flake_services.insert(
        "site".into(),
        FlakeService {
            name: "site".into(),
            span: None,
            service: Known::Known(service),
            role_spans: BTreeMap::new(),
        },
    );
    clan.flake_services.insert(
        "opaque".into(),
        FlakeService {
            name: "opaque".into(),
            span: None,
            service: Known::Unknown("interface is a function of pkgs".into()),
            role_spans: BTreeMap::new(),
        },
    );
    let mut site = instance("site", "site");
    site.module_input = Some(known("self".into(), 3));
    add(
        &mut clan,
        site,
        vec![role("monitor", 30).with_machine("a", 31, None)],
    );
    let mut opaque = instance("opaque", "opaque");
    opaque.module_input = Some(known("self".into(), 4));
    add(
        &mut clan,
        opaque,
        vec![role("anything", 32).with_machine("a", 33, None)],
    );
    let d = only(
        &run(&clan),
        Code::C002,
        Severity::Error,
        sp("inv.nix", 30, 1),
    );
    assert!(d.message.contains("`evening`, `morning`"), "{}", d.message);
}

#[test]
fn c003_unknown_module_name_explicit_and_defaulted() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("backups", "borg-backup"),
        vec![role("client", 10).with_machine("a", 11, None)],
    );
    let d = only(
        &run(&clan),
        Code::C003,
        Severity::Error,
        sp("inv.nix", 2, 1),
    );
    assert!(d.message.contains("`borg-backup`"));
    assert!(text(&d).contains("did you mean `borgbackup`?"));

    let mut clan = self::clan();
    let mut ssh = instance("ssh", "ssh");
    ssh.module_name = Spanned::new(Known::Known("ssh".into()), None);
    ssh.module_name_defaulted = true;
    add(
        &mut clan,
        ssh,
        vec![role("server", 10).with_machine("a", 11, None)],
    );
    // No span for the defaulted name: the instance key.
    let d = only(
        &run(&clan),
        Code::C003,
        Severity::Error,
        sp("inv.nix", 1, 1),
    );
    assert!(d.message.contains("defaults to the instance name"));
    assert!(text(&d).contains("did you mean `sshd`?"));
}

#[test]
fn c004_unknown_input_and_silence_for_unreadable_inputs() {
    let mut clan = clan();
    let mut i = instance("sshd", "sshd");
    i.module_input = Some(known("clan".into(), 5));
    // A wrong role too: no C002 when the input is wrong.
    add(
        &mut clan,
        i,
        vec![role("nope", 10).with_machine("a", 11, None)],
    );
    let d = only(
        &run(&clan),
        Code::C004,
        Severity::Error,
        sp("inv.nix", 5, 1),
    );
    assert!(d.message.contains("`clan`"));
    assert!(text(&d).contains("`nixpkgs`, `clan-core`"));
    assert!(text(&d).contains("did you mean `clan-core`?"));

    // An input that exists but clanc cannot read: nothing about roles or settings.
    let mut clan = self::clan();
    clan.inputs = Known::Known(vec!["fleet".into()]);
    let mut i = instance("restic", "restic-b2");
    i.module_input = Some(known("fleet".into(), 5));
    add(
        &mut clan,
        i,
        vec![
            role("agent", 10)
                .with_tag("server", 11)
                .with_settings(v(attrs(vec![("bucket", v(Data::Int(3), 12))]), 13)),
        ],
    );
    none(&run(&clan));

    // Unknown inputs list: no C004.
    let mut clan = self::clan();
    clan.inputs = Known::Unknown("flake.nix unreadable".into());
    let mut i = instance("x", "x");
    i.module_input = Some(known("whatever".into(), 5));
    add(&mut clan, i, vec![role("r", 10)]);
    none(&run(&clan));
}

#[test]
fn c005_tag_matching_nothing_and_not_when_members_are_unknown() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 10).with_machine("a", 11, None),
            role("client", 12).with_tag("servers", 13),
        ],
    );
    let d = only(
        &run(&clan),
        Code::C005,
        Severity::Warning,
        sp("inv.nix", 13, 1),
    );
    assert!(d.message.contains("`servers`"));
    assert!(text(&d).contains("did you mean `server`?"));

    let mut clan = self::clan();
    clan.tags.insert(
        "gpu".into(),
        Tag {
            name: "gpu".into(),
            members: Known::Unknown("inputs.fleet-config.lib.gpuHosts".into()),
            listed: Some(Known::Unknown("inputs.fleet-config.lib.gpuHosts".into())),
            span: None,
            computed: false,
        },
    );
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 10).with_machine("a", 11, None),
            role("client", 12).with_tag("gpu", 13),
        ],
    );
    none(&run(&clan));
}

#[test]
fn c009_max_machines_after_tags_and_min_machines_of_an_unused_role() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("zt", "zerotier"),
        vec![role("controller", 10).with_tag("server", 11)],
    );
    let d = only(
        &run(&clan),
        Code::C009,
        Severity::Error,
        sp("inv.nix", 10, 1),
    );
    assert!(d.message.contains("exactly 1"), "{}", d.message);
    assert!(d.message.contains("`a`, `b`"), "{}", d.message);

    let mut clan = self::clan();
    add(
        &mut clan,
        instance("zt", "zerotier"),
        vec![role("peer", 10).with_machine("a", 11, None)],
    );
    // No controller role at all: the instance key.
    let d = only(
        &run(&clan),
        Code::C009,
        Severity::Error,
        sp("inv.nix", 1, 1),
    );
    assert!(d.message.contains("`controller`"));
}

#[test]
fn c009_max_instances() {
    let mut catalog = Catalog::builtin().services.clone();
    catalog.get_mut("sshd").unwrap().max_instances = Some(1);
    let catalog = Catalog {
        clan_core_commit: "test".into(),
        services: catalog,
        history: Default::default(),
    };
    let mut clan = clan();
    let mut first = instance("sshd-1", "sshd");
    first.span = at(40);
    let mut second = instance("sshd-2", "sshd");
    second.span = at(41);
    add(
        &mut clan,
        first,
        vec![role("server", 10).with_machine("a", 11, None)],
    );
    add(
        &mut clan,
        second,
        vec![role("server", 12).with_machine("b", 13, None)],
    );
    let out = check_clan(&clan, &catalog, &VarsListing::default());
    let d = only(&out, Code::C009, Severity::Error, sp("inv.nix", 41, 1));
    assert!(d.message.contains("at most 1 instance"));
    assert_eq!(d.labels[0].span, sp("inv.nix", 40, 1));
}

#[test]
fn c010_darwin_named_directly_but_not_via_tags_or_with_extra_modules() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("sshd", "sshd"),
        vec![role("server", 10).with_machine("mac", 11, None)],
    );
    let d = only(
        &run(&clan),
        Code::C010,
        Severity::Warning,
        sp("inv.nix", 11, 1),
    );
    assert!(d.message.contains("`mac`"));

    // via tags.all: normal, silent
    let mut clan = self::clan();
    add(
        &mut clan,
        instance("sshd", "sshd"),
        vec![role("server", 10).with_tag("all", 11)],
    );
    none(&run(&clan));

    // named, but extraModules carry its configuration
    let mut clan = self::clan();
    let mut r = role("server", 10).with_machine("mac", 11, None);
    r.extra_modules.push(Spanned::new(
        ExtraModule::File("darwin/ssh.nix".into()),
        None,
    ));
    add(&mut clan, instance("sshd", "sshd"), vec![r]);
    none(&run(&clan));

    // wireguard has a darwin module
    let mut clan = self::clan();
    add(
        &mut clan,
        instance("wg", "wireguard"),
        vec![
            role("controller", 10).with_machine(
                "a",
                11,
                Some(v(attrs(vec![("endpoint", v(s("a.example"), 12))]), 13)),
            ),
            role("peer", 14).with_machine(
                "mac",
                15,
                Some(v(attrs(vec![("controller", v(s("a"), 16))]), 17)),
            ),
        ],
    );
    none(&run(&clan));
}

#[test]
fn c013_legacy_services() {
    let mut clan = clan();
    clan.legacy_services = Some(sp("legacy.nix", 3, 8));
    let d = only(
        &run(&clan),
        Code::C013,
        Severity::Error,
        sp("legacy.nix", 3, 8),
    );
    assert!(d.message.contains("inventory.instances"));
}

#[test]
fn an_instance_without_module_input_follows_the_pinned_clan_cores_default() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("acme", "acme"),
        vec![role("client", 10).with_machine("a", 11, None)],
    );
    // no clan-core ever had `acme`: with today's default (clan-core's services), C003 for it
    clan.clan_core_last_modified = Some(1_785_800_000);
    // (a pin known by its time only: no C014 beside what is tested)
    let d = only(&run(&clan), Code::C003, Severity::Error, at(2).unwrap());
    assert!(
        d.message.contains("clan-core doesn't provide"),
        "{}",
        d.message
    );
    // before 2025-06-30 it meant the flake's own `clan.modules`
    clan.clan_core_last_modified = Some(1_749_900_000);
    let d = only(&run(&clan), Code::C003, Severity::Error, at(2).unwrap());
    assert!(
        d.message.contains("this flake's `clan.modules`"),
        "{}",
        d.message
    );
    // on the day it changed, nothing is certain
    clan.clan_core_last_modified = Some(1_751_250_000);
    none(&run(&clan));
    // a service clan-core had around the pin but the catalog describes in another version
    let mut clan = self::clan();
    add(
        &mut clan,
        instance("state", "state-version"),
        vec![role("default", 10).with_machine("a", 11, None)],
    );
    clan.clan_core_last_modified = Some(1_752_000_000); // 2025-07: state-version existed
    none(&run(&clan));
}

#[test]
fn c013_depends_on_the_pinned_clan_core() {
    let mut clan = clan();
    clan.legacy_services = Some(sp("legacy.nix", 3, 8));
    // 2025-06: inventory.services still worked
    clan.clan_core_last_modified = Some(1_749_900_000);
    none(&run(&clan));
    // 2026-04: a removed option, ignored: an empty set loses nothing
    clan.clan_core_last_modified = Some(1_777_300_000);
    clan.legacy_services_empty = true;
    none(&run(&clan));
    clan.legacy_services_empty = false;
    let d = only(
        &run(&clan),
        Code::C013,
        Severity::Error,
        sp("legacy.nix", 3, 8),
    );
    assert!(d.message.contains("ignores"), "{}", d.message);
    // 2026-08: rejected, even empty
    clan.clan_core_last_modified = Some(1_785_800_000);
    clan.legacy_services_empty = true;
    only(
        &run(&clan),
        Code::C013,
        Severity::Error,
        sp("legacy.nix", 3, 8),
    );
}
