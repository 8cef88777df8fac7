//! Tests of the machine checks (M001-M004) through `check_clan`, on clans built by hand
//! (`check::test_support`).

use crate::check::test_support::*;
use crate::diagnostics::{Code, Severity};
use crate::model::*;

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
