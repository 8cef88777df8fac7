//! Tests of `check_clan` per rule family, on clans built by hand. Spans are fake: each value
//! gets its own byte offset in a file named after what it is, so a test can say exactly where
//! a diagnostic points.

use std::collections::{BTreeMap, BTreeSet};

use rnix::{TextRange, TextSize};

use super::{VarsListing, check_clan};
use crate::diagnostics::Code;
use crate::diagnostics::{Diagnostic, Severity, Span};
use crate::model::*;
use crate::services::catalog::Catalog;

/// A span `file`:`at`..`at+len`.
fn sp(file: &str, at: u32, len: u32) -> Span {
    Span::new(file, TextRange::at(TextSize::from(at), TextSize::from(len)))
}

fn at(at: u32) -> Option<Span> {
    Some(sp("inv.nix", at, 1))
}

fn v(value: Data, at_: u32) -> Spanned<Data> {
    Spanned::new(value, at(at_))
}

fn s(text: &str) -> Data {
    Data::String(text.to_string())
}

fn attrs(entries: Vec<(&str, Spanned<Data>)>) -> Data {
    Data::Attrs(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn known<T>(value: T, at_: u32) -> Spanned<Known<T>> {
    Spanned::new(Known::Known(value), at(at_))
}

fn machine(name: &str, class: MachineClass, tags: &[&str]) -> Machine {
    Machine {
        sources: vec![MachineSource::Inventory],
        tags: tags
            .iter()
            .map(|t| Spanned::new(t.to_string(), None))
            .collect(),
        ..Machine::new(
            name.to_string(),
            Some(sp("machines.nix", 0, 1)),
            Spanned::new(Known::Known(class), None),
        )
    }
}

/// A clan with nixos machines `a`, `b`, `c` (tagged `server` for a and b), darwin `mac`, the
/// computed tags, and the inputs `nixpkgs`, `clan-core`.
fn clan() -> Clan {
    let mut clan = Clan {
        inputs: Known::Known(vec!["nixpkgs".into(), "clan-core".into()]),
        ..Clan::default()
    };
    for (name, class, tags) in [
        ("a", MachineClass::Nixos, &["server"][..]),
        ("b", MachineClass::Nixos, &["server"][..]),
        ("c", MachineClass::Nixos, &[][..]),
        ("mac", MachineClass::Darwin, &["laptop"][..]),
    ] {
        clan.machines
            .insert(name.to_string(), machine(name, class, tags));
    }
    retag(&mut clan);
    clan
}

/// Sets the computed tags (`all`, `nixos`, `darwin`, which the evaluation computes) and
/// resolves the machines' tags as the model does.
fn retag(clan: &mut Clan) {
    let mut computed: BTreeMap<&str, Vec<String>> = ["all", "nixos", "darwin"]
        .into_iter()
        .map(|name| (name, Vec::new()))
        .collect();
    for m in clan.machines.values() {
        let class = m.class.value.known().map_or("nixos", |c| c.as_str());
        for name in ["all", class] {
            computed.entry(name).or_default().push(m.name.clone());
        }
    }
    for (name, members) in computed {
        clan.tags.insert(
            name.to_string(),
            Tag {
                name: name.to_string(),
                members: Known::Known(Vec::new()),
                listed: Some(Known::Known(members)),
                span: None,
                computed: true,
            },
        );
    }
    let _ = clan.resolve_tags();
}

fn instance(name: &str, module: &str) -> Instance {
    Instance {
        name: name.to_string(),
        span: at(1),
        module_name: known(module.to_string(), 2),
        module_name_defaulted: false,
        module_input: None,
        roles: BTreeMap::new(),
    }
}

fn role(name: &str, span_at: u32) -> Role {
    Role {
        name: name.to_string(),
        span: at(span_at),
        machines: BTreeMap::new(),
        tags: Vec::new(),
        tags_unknown: None,
        machines_unknown: None,
        settings: None,
        extra_modules: Vec::new(),
        resolved: Known::Known(Vec::new()),
    }
}

impl Role {
    fn with_machine(mut self, name: &str, span_at: u32, settings: Option<Spanned<Data>>) -> Role {
        self.machines.insert(
            name.to_string(),
            RoleMachine {
                name: name.to_string(),
                span: at(span_at),
                settings,
            },
        );
        self
    }

    fn with_tag(mut self, tag: &str, span_at: u32) -> Role {
        self.tags.push(Spanned::new(tag.to_string(), at(span_at)));
        self
    }

    fn with_settings(mut self, settings: Spanned<Data>) -> Role {
        self.settings = Some(settings);
        self
    }
}

/// Adds the instance with its roles, resolved as the model resolves them.
fn add(clan: &mut Clan, mut instance: Instance, roles: Vec<Role>) {
    for role in roles {
        instance.roles.insert(role.name.clone(), role);
    }
    clan.instances.insert(instance.name.clone(), instance);
    let _ = clan.resolve_tags();
}

fn run(clan: &Clan) -> Vec<Diagnostic> {
    check_clan(clan, Catalog::builtin(), &VarsListing::default())
}

fn run_with(clan: &Clan, listing: &VarsListing) -> Vec<Diagnostic> {
    check_clan(clan, Catalog::builtin(), listing)
}

/// The one diagnostic there must be, with its code, severity and primary span.
fn only(diagnostics: &[Diagnostic], code: Code, severity: Severity, span: Span) -> Diagnostic {
    assert_eq!(
        diagnostics.len(),
        1,
        "expected exactly one diagnostic, got {diagnostics:#?}"
    );
    let d = diagnostics[0].clone();
    assert_eq!((d.code, d.severity), (code, severity), "{d:#?}");
    assert_eq!(d.span, span, "{d:#?}");
    d
}

fn none(diagnostics: &[Diagnostic]) {
    assert!(
        diagnostics.is_empty(),
        "expected none, got {diagnostics:#?}"
    );
}

fn text(d: &Diagnostic) -> String {
    format!("{} {}", d.message, d.help.clone().unwrap_or_default())
}

// ---------------------------------------------------------------- roles

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

// ---------------------------------------------------------------- settings

#[test]
fn c006_wrong_type_points_at_the_value() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("internet", "internet"),
        vec![role("default", 10).with_machine(
            "a",
            11,
            Some(v(attrs(vec![("port", v(Data::Int(70022), 12))]), 13)),
        )],
    );
    let d = only(
        &run(&clan),
        Code::C006,
        Severity::Error,
        sp("inv.nix", 12, 1),
    );
    assert!(
        d.message
            .contains("instances.internet.roles.default.settings.port")
    );
    assert!(d.message.contains("16 bit unsigned integer"));
    assert!(d.message.contains("found the integer 70022"));
    assert!(text(&d).contains("between 0 and 65535"));

    let mut clan = self::clan();
    add(
        &mut clan,
        instance("wg", "wireguard"),
        vec![role("controller", 10).with_machine(
            "a",
            11,
            Some(v(
                attrs(vec![
                    ("endpoint", v(s("a.example"), 12)),
                    ("port", v(s("51820"), 14)),
                ]),
                13,
            )),
        )],
    );
    let d = only(
        &run(&clan),
        Code::C006,
        Severity::Error,
        sp("inv.nix", 14, 1),
    );
    assert!(d.message.contains("`signed integer`"));
    assert!(text(&d).contains("without quotes: `51820`"));
}

#[test]
fn c006_in_a_list_element_and_a_nested_submodule_entry() {
    let mut clan = clan();
    let destinations = attrs(vec![(
        "offsite",
        v(
            attrs(vec![
                ("repo", v(s("u@h:repo"), 20)),
                ("name", v(s("not ok"), 21)),
            ]),
            22,
        ),
    )]);
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 10).with_machine("b", 11, None),
            role("client", 12).with_machine(
                "a",
                13,
                Some(v(
                    attrs(vec![
                        ("destinations", v(destinations, 23)),
                        (
                            "exclude",
                            v(Data::List(vec![v(s("/tmp"), 24), v(Data::Int(1), 25)]), 26),
                        ),
                    ]),
                    27,
                )),
            ),
        ],
    );
    let out = run(&clan);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(
        (out[0].code, out[0].span.clone()),
        (Code::C006, sp("inv.nix", 21, 1))
    );
    assert!(
        out[0]
            .message
            .contains("settings.destinations.offsite.name")
    );
    assert_eq!(
        (out[1].code, out[1].span.clone()),
        (Code::C006, sp("inv.nix", 25, 1))
    );
    assert!(
        out[1]
            .message
            .contains("expected string, found the integer 1")
    );
}

#[test]
fn c007_unknown_setting_with_suggestion_and_role_without_options() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 10)
                .with_machine("a", 11, None)
                .with_settings(v(attrs(vec![("directry", v(s("/srv"), 12))]), 13)),
        ],
    );
    let d = only(
        &run(&clan),
        Code::C007,
        Severity::Error,
        sp("inv.nix", 12, 1),
    );
    assert!(d.message.contains("settings.directry"));
    assert!(text(&d).contains("did you mean `directory`?"));

    let mut clan = self::clan();
    add(
        &mut clan,
        instance("emergency-access", "emergency-access"),
        vec![
            role("default", 10)
                .with_machine("a", 11, None)
                .with_settings(v(attrs(vec![("enable", v(Data::Bool(true), 12))]), 13)),
        ],
    );
    // nothing can read a setting of a role without options: ignored, a warning
    let d = only(
        &run(&clan),
        Code::C007,
        Severity::Warning,
        sp("inv.nix", 12, 1),
    );
    assert!(text(&d).contains("declares no options at all"));
    assert!(d.message.contains("ignores it"), "{}", d.message);
}

#[test]
fn c007_nested_option_groups() {
    let mut clan = clan();
    let settings = attrs(vec![(
        "certificate",
        v(
            attrs(vec![
                ("enable", v(Data::Bool(false), 12)),
                ("searchDomain", v(Data::List(vec![]), 14)),
            ]),
            15,
        ),
    )]);
    add(
        &mut clan,
        instance("sshd", "sshd"),
        vec![
            role("server", 10)
                .with_machine("a", 11, None)
                .with_settings(v(settings, 16)),
        ],
    );
    let d = only(
        &run(&clan),
        Code::C007,
        Severity::Error,
        sp("inv.nix", 14, 1),
    );
    assert!(d.message.contains("settings.certificate.searchDomain"));
    assert!(text(&d).contains("did you mean `searchDomains`?"));
}

#[test]
fn c008_required_option_unset_for_one_machine() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("wg", "wireguard"),
        vec![
            role("controller", 10).with_machine(
                "a",
                11,
                Some(v(attrs(vec![("endpoint", v(s("a.example"), 12))]), 13)),
            ),
            role("peer", 14).with_machine("b", 15, None).with_machine(
                "c",
                16,
                Some(v(attrs(vec![("controller", v(s("a"), 17))]), 18)),
            ),
        ],
    );
    let d = only(
        &run(&clan),
        Code::C008,
        Severity::Info,
        sp("inv.nix", 14, 1),
    );
    assert!(d.message.contains("settings.controller"));
    assert!(d.message.contains("machine `b`"), "{}", d.message);
    assert!(!d.message.contains("`c`"));
}

#[test]
fn c008_names_every_machine_the_role_settings_leave_unset() {
    // a and b have no settings of their own as peers (the role's alone are checked once for
    // both), c sets the option itself
    let mut clan = clan();
    add(
        &mut clan,
        instance("wg", "wireguard"),
        vec![
            role("controller", 10).with_machine(
                "a",
                11,
                Some(v(attrs(vec![("endpoint", v(s("a.example"), 12))]), 13)),
            ),
            role("peer", 14)
                .with_machine("b", 15, None)
                .with_machine(
                    "c",
                    16,
                    Some(v(attrs(vec![("controller", v(s("a"), 17))]), 18)),
                )
                .with_machine("a", 19, None),
        ],
    );
    let d = only(
        &run(&clan),
        Code::C008,
        Severity::Info,
        sp("inv.nix", 14, 1),
    );
    assert!(d.message.contains("machines `a`, `b`:"), "{}", d.message);
    assert!(!d.message.contains("`c`"), "{}", d.message);
}

#[test]
fn c008_is_silent_when_settings_are_a_function_or_unknown() {
    for settings in [Data::Function, Data::Unknown("inputs.self.lib.wg".into())] {
        let mut clan = clan();
        add(
            &mut clan,
            instance("wg", "wireguard"),
            vec![
                role("controller", 10)
                    .with_machine("a", 11, None)
                    .with_settings(v(settings.clone(), 12)),
            ],
        );
        none(&run(&clan));
    }
}

#[test]
fn c012_equal_priority_conflict_points_at_the_later_definition() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 10)
                .with_settings(v(attrs(vec![("directory", v(s("/srv"), 12))]), 13))
                .with_machine(
                    "a",
                    14,
                    Some(v(attrs(vec![("directory", v(s("/tank"), 15))]), 16)),
                ),
        ],
    );
    let d = only(
        &run(&clan),
        Code::C012,
        Severity::Error,
        sp("inv.nix", 15, 1),
    );
    assert!(d.message.contains("settings.directory"));
    assert_eq!(d.labels.len(), 1);
    assert_eq!(d.labels[0].span, sp("inv.nix", 12, 1));
    assert_eq!(d.labels[0].message, "also defined here");
}

#[test]
fn priorities_decide_before_type_checks_and_conflicts() {
    // mkForce on the machine over a plain role value; mkDefault role value under a plain one;
    // a wrongly typed mkDefault that loses is never checked.
    let mut clan = clan();
    let force = |x: Data, at_: u32| {
        v(
            Data::Override {
                priority: 50,
                content: Box::new(v(x, at_ + 100)),
            },
            at_,
        )
    };
    let default = |x: Data, at_: u32| {
        v(
            Data::Override {
                priority: 1000,
                content: Box::new(v(x, at_ + 100)),
            },
            at_,
        )
    };
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("client", 10)
                .with_tag("server", 11)
                .with_settings(v(
                    attrs(vec![
                        ("startAt", v(s("*-*-* 02:00:00"), 12)),
                        ("exclude", default(Data::Int(3), 13)),
                    ]),
                    14,
                ))
                .with_machine(
                    "b",
                    15,
                    Some(v(
                        attrs(vec![
                            ("startAt", force(s("*-*-* 12:30:00"), 16)),
                            ("exclude", v(Data::List(vec![]), 17)),
                        ]),
                        18,
                    )),
                ),
            role("server", 20)
                .with_machine(
                    "c",
                    21,
                    Some(v(attrs(vec![("directory", v(s("/tank"), 22))]), 23)),
                )
                .with_settings(v(
                    attrs(vec![("directory", default(s("/var/lib/borg"), 24))]),
                    25,
                )),
        ],
    );
    // Machine a gets the role's mkDefault `exclude = 3` alone: that one is a real error.
    let d = only(
        &run(&clan),
        Code::C006,
        Severity::Error,
        sp("inv.nix", 113, 1),
    );
    assert!(d.message.contains("settings.exclude"));
}

#[test]
fn mkif_with_an_unknown_condition_is_maybe() {
    let mut clan = clan();
    let maybe = |x: Data, at_: u32| {
        v(
            Data::If {
                condition: Known::Unknown("config.networking.hostName".into()),
                content: Box::new(v(x, at_ + 100)),
            },
            at_,
        )
    };
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 10)
                .with_settings(v(attrs(vec![("directory", v(s("/srv"), 12))]), 13))
                .with_machine(
                    "a",
                    14,
                    // would conflict (and is of the wrong type) if the condition held
                    Some(v(
                        attrs(vec![
                            ("directory", maybe(Data::Int(3), 15)),
                            ("address", maybe(Data::Bool(true), 16)),
                        ]),
                        17,
                    )),
                ),
        ],
    );
    none(&run(&clan));
}

#[test]
fn unknown_values_and_merges() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 10)
                .with_settings(v(
                    attrs(vec![(
                        "directory",
                        v(Data::Unknown("inputs.fleet.dir".into()), 12),
                    )]),
                    13,
                ))
                .with_machine(
                    "a",
                    14,
                    Some(v(
                        Data::Merge(vec![
                            v(attrs(vec![("directory", v(s("/x"), 15))]), 16),
                            v(attrs(vec![("address", v(s("10.0.0.1"), 17))]), 18),
                        ]),
                        19,
                    )),
                ),
        ],
    );
    none(&run(&clan));

    // mkMerge still finds a wrong type in one of its parts
    let mut clan = self::clan();
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![role("server", 10).with_machine(
            "a",
            14,
            Some(v(
                Data::Merge(vec![
                    v(attrs(vec![("directory", v(s("/x"), 15))]), 16),
                    v(attrs(vec![("address", v(Data::Int(1), 17))]), 18),
                ]),
                19,
            )),
        )],
    );
    let d = only(
        &run(&clan),
        Code::C006,
        Severity::Error,
        sp("inv.nix", 17, 1),
    );
    assert!(d.message.contains("null or string"));
}

// ---------------------------------------------------------------- machines

#[test]
fn m001_m002_deferred_modules() {
    let mut clan = clan();
    let a = clan.machines.get_mut("a").unwrap();
    a.imports = vec![
        ModuleImport {
            span: Some(sp("a.nix", 5, 30)),
            target: ImportTarget::Deferred {
                class: "nixos".into(),
                name: "reverseproxy".into(),
                defined: false,
            },
        },
        ModuleImport {
            span: Some(sp("a.nix", 40, 30)),
            target: ImportTarget::Deferred {
                class: "nixos".into(),
                name: "reverse-proxy".into(),
                defined: true,
            },
        },
        ModuleImport {
            span: Some(sp("a.nix", 80, 30)),
            target: ImportTarget::Deferred {
                class: "generic".into(),
                name: "base".into(),
                defined: true,
            },
        },
    ];
    let d = only(&run(&clan), Code::M001, Severity::Error, sp("a.nix", 5, 30));
    assert!(
        d.message
            .contains("config.flake.modules.nixos.reverseproxy")
    );
    assert!(text(&d).contains("did you mean `reverse-proxy`?"));

    let mut clan = self::clan();
    clan.machines.get_mut("a").unwrap().imports = vec![ModuleImport {
        span: Some(sp("a.nix", 5, 30)),
        target: ImportTarget::Deferred {
            class: "darwin".into(),
            name: "base".into(),
            defined: true,
        },
    }];
    let d = only(&run(&clan), Code::M002, Severity::Error, sp("a.nix", 5, 30));
    assert!(d.message.contains("nixos machine") && d.message.contains("darwin module"));
}

#[test]
fn m003_host_platform() {
    let platform = |clan: &mut Clan, m: &str, p: &str| {
        clan.machines.get_mut(m).unwrap().host_platform = Some(Spanned::new(
            Known::Known(p.to_string()),
            Some(sp("m.nix", 7, 16)),
        ));
    };
    let mut clan = clan();
    platform(&mut clan, "a", "aarch64-darwin");
    let d = only(&run(&clan), Code::M003, Severity::Error, sp("m.nix", 7, 16));
    assert!(d.message.contains("aarch64-darwin"));
    assert!(text(&d).contains("aarch64-linux"));

    let mut clan = self::clan();
    platform(&mut clan, "a", "x86-64-linux");
    let d = only(&run(&clan), Code::M003, Severity::Error, sp("m.nix", 7, 16));
    assert!(text(&d).contains("did you mean `x86_64-linux`?"));

    let mut clan = self::clan();
    platform(&mut clan, "a", "x86_64-linux");
    platform(&mut clan, "mac", "aarch64-darwin");
    none(&run(&clan));
}

#[test]
fn m004_deploy_targets_with_the_offending_character() {
    let mut clan = clan();
    let text_ = "root@desk-2.local:70022";
    // the span is the string literal with its quotes
    let len = text_.len() as u32 + 2;
    clan.machines.get_mut("a").unwrap().target_host = Some(Spanned::new(
        Known::Known(text_.to_string()),
        Some(sp("m.nix", 100, len)),
    ));
    clan.machines.get_mut("b").unwrap().build_host = Some(Spanned::new(
        Known::Known("root@[2001:db8::1]:22".to_string()),
        Some(sp("m.nix", 200, 23)),
    ));
    let d = only(
        &run(&clan),
        Code::M004,
        Severity::Error,
        sp("m.nix", 100, len),
    );
    assert!(d.message.contains("targetHost") && d.message.contains(text_));
    assert!(d.message.contains("70022 is out of range"), "{}", d.message);
    // the port starts at offset 18 of the text, +1 for the opening quote
    assert_eq!(d.labels.len(), 1);
    assert_eq!(d.labels[0].span, sp("m.nix", 100 + 1 + 18, 1));

    // an escaped string (span longer than the text + quotes): no label, still the value
    let mut clan = self::clan();
    clan.machines.get_mut("a").unwrap().target_host = Some(Spanned::new(
        Known::Known("a b".to_string()),
        Some(sp("m.nix", 100, 9)),
    ));
    let d = only(
        &run(&clan),
        Code::M004,
        Severity::Error,
        sp("m.nix", 100, 9),
    );
    assert!(d.labels.is_empty());

    // clan's own forms: a `ssh://` scheme and ssh options after `?`
    let mut clan = self::clan();
    clan.machines.get_mut("a").unwrap().build_host = Some(Spanned::new(
        Known::Known("ssh://root@beacon".to_string()),
        Some(sp("m.nix", 100, 19)),
    ));
    clan.machines.get_mut("b").unwrap().target_host = Some(Spanned::new(
        Known::Known("root@host?ProxyJump=tunnel@gw".to_string()),
        Some(sp("m.nix", 200, 31)),
    ));
    none(&run(&clan));

    // another scheme is no deploy target
    let mut clan = self::clan();
    clan.machines.get_mut("a").unwrap().build_host = Some(Spanned::new(
        Known::Known("https://root@beacon".to_string()),
        Some(sp("m.nix", 100, 21)),
    ));
    let d = only(
        &run(&clan),
        Code::M004,
        Severity::Error,
        sp("m.nix", 100, 21),
    );
    assert!(text(&d).contains("remove `https://`"));
}

// ---------------------------------------------------------------- vars

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

#[test]
fn a_clean_clan_has_no_diagnostics() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("zt", "zerotier"),
        vec![
            role("controller", 10).with_machine("a", 11, None),
            role("peer", 12).with_tag("all", 13),
        ],
    );
    add(
        &mut clan,
        instance("borg", "borgbackup"),
        vec![
            role("server", 20).with_machine(
                "c",
                21,
                Some(v(attrs(vec![("directory", v(s("/tank"), 22))]), 23)),
            ),
            role("client", 24).with_tag("server", 25).with_settings(v(
                attrs(vec![(
                    "destinations",
                    v(
                        attrs(vec![(
                            "c",
                            v(attrs(vec![("repo", v(s("borg@c:/tank/a"), 26))]), 27),
                        )]),
                        28,
                    ),
                )]),
                29,
            )),
        ],
    );
    add(
        &mut clan,
        instance("yggdrasil", "yggdrasil"),
        vec![role("default", 30).with_tag("nixos", 31).with_settings(v(
            attrs(vec![(
                "ports",
                v(attrs(vec![("tcp", v(Data::Int(6443), 32))]), 33),
            )]),
            34,
        ))],
    );
    none(&run(&clan));
}

#[test]
fn mkforce_in_the_role_beats_a_wrong_machine_value() {
    let mut clan = clan();
    add(
        &mut clan,
        instance("internet", "internet"),
        vec![
            role("default", 10)
                .with_settings(v(
                    attrs(vec![(
                        "port",
                        v(
                            Data::Override {
                                priority: 50,
                                content: Box::new(v(Data::Int(2222), 11)),
                            },
                            12,
                        ),
                    )]),
                    13,
                ))
                .with_machine("a", 14, Some(v(attrs(vec![("port", v(s("22"), 15))]), 16))),
        ],
    );
    none(&run(&clan));
}

#[test]
fn unknown_tag_members_silence_constraints_and_required_options() {
    let mut clan = clan();
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
        instance("zt", "zerotier"),
        vec![role("controller", 10).with_tag("gpu", 11)],
    );
    // wireguard peers need `controller`; the gpu members are unknown
    add(
        &mut clan,
        instance("wg", "wireguard"),
        vec![
            role("controller", 20).with_tag("gpu", 21),
            role("peer", 22).with_tag("gpu", 23),
        ],
    );
    none(&run(&clan));
}

#[test]
fn darwin_machines_are_not_evaluated_by_nixos_only_services() {
    // sshd has no darwin module: mac's wrongly typed setting never reaches clan-core's checks,
    // but the named darwin machine is a C010.
    let mut clan = clan();
    add(
        &mut clan,
        instance("sshd", "sshd"),
        vec![role("server", 10).with_machine(
            "mac",
            11,
            Some(v(attrs(vec![("generateRootKey", v(s("yes"), 12))]), 13)),
        )],
    );
    only(
        &run(&clan),
        Code::C010,
        Severity::Warning,
        sp("inv.nix", 11, 1),
    );
}

// ---------------------------------------------------------------- vars: recipients, sharing

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

// ---------------------------------------------------------------- legacy sops-nix

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
