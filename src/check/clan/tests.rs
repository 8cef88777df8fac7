//! Tests of `check_clan` across the rule families: a clean clan, and what one family's
//! unknowns or skips mean for another's, on clans built by hand (`check::test_support`).

use crate::check::test_support::*;
use crate::diagnostics::{Code, Severity};
use crate::model::*;

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
