//! Builders for the checker's unit tests (`check::<family>::tests`): clans built by hand,
//! checked with `check_clan`. Spans are fake: each value gets its own byte offset in a file
//! named after what it is, so a test can say exactly where a diagnostic points.

use std::collections::BTreeMap;

use rnix::{TextRange, TextSize};

use super::{VarsListing, check_clan};
use crate::diagnostics::Code;
use crate::diagnostics::{Diagnostic, Severity, Span};
use crate::model::*;
use crate::services::catalog::Catalog;

/// A span `file`:`at`..`at+len`.
pub(super) fn sp(file: &str, at: u32, len: u32) -> Span {
    Span::new(file, TextRange::at(TextSize::from(at), TextSize::from(len)))
}

pub(super) fn at(at: u32) -> Option<Span> {
    Some(sp("inv.nix", at, 1))
}

pub(super) fn v(value: Data, at_: u32) -> Spanned<Data> {
    Spanned::new(value, at(at_))
}

pub(super) fn s(text: &str) -> Data {
    Data::String(text.to_string())
}

pub(super) fn attrs(entries: Vec<(&str, Spanned<Data>)>) -> Data {
    Data::Attrs(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

pub(super) fn known<T>(value: T, at_: u32) -> Spanned<Known<T>> {
    Spanned::new(Known::Known(value), at(at_))
}

pub(super) fn machine(name: &str, class: MachineClass, tags: &[&str]) -> Machine {
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
pub(super) fn clan() -> Clan {
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
pub(super) fn retag(clan: &mut Clan) {
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

pub(super) fn instance(name: &str, module: &str) -> Instance {
    Instance {
        name: name.to_string(),
        span: at(1),
        module_name: known(module.to_string(), 2),
        module_name_defaulted: false,
        module_input: None,
        roles: BTreeMap::new(),
    }
}

pub(super) fn role(name: &str, span_at: u32) -> Role {
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
    pub(super) fn with_machine(
        mut self,
        name: &str,
        span_at: u32,
        settings: Option<Spanned<Data>>,
    ) -> Role {
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

    pub(super) fn with_tag(mut self, tag: &str, span_at: u32) -> Role {
        self.tags.push(Spanned::new(tag.to_string(), at(span_at)));
        self
    }

    pub(super) fn with_settings(mut self, settings: Spanned<Data>) -> Role {
        self.settings = Some(settings);
        self
    }
}

/// Adds the instance with its roles, resolved as the model resolves them.
pub(super) fn add(clan: &mut Clan, mut instance: Instance, roles: Vec<Role>) {
    for role in roles {
        instance.roles.insert(role.name.clone(), role);
    }
    clan.instances.insert(instance.name.clone(), instance);
    let _ = clan.resolve_tags();
}

pub(super) fn run(clan: &Clan) -> Vec<Diagnostic> {
    check_clan(clan, Catalog::builtin(), &VarsListing::default())
}

pub(super) fn run_with(clan: &Clan, listing: &VarsListing) -> Vec<Diagnostic> {
    check_clan(clan, Catalog::builtin(), listing)
}

/// The one diagnostic there must be, with its code, severity and primary span.
pub(super) fn only(
    diagnostics: &[Diagnostic],
    code: Code,
    severity: Severity,
    span: Span,
) -> Diagnostic {
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

pub(super) fn none(diagnostics: &[Diagnostic]) {
    assert!(
        diagnostics.is_empty(),
        "expected none, got {diagnostics:#?}"
    );
}

pub(super) fn text(d: &Diagnostic) -> String {
    format!("{} {}", d.message, d.help.clone().unwrap_or_default())
}
