//! Tests of the settings checks (C006-C008, C012; priorities, `mkIf`, unknown values) through
//! `check_clan`, on clans built by hand (`check::test_support`).

use crate::check::test_support::*;
use crate::diagnostics::{Code, Severity};
use crate::model::*;

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
