//! Service instances and their roles: which service an instance uses (C003, C004), which
//! roles and machines it names (C001, C002), its tags (C005), role constraints (C009), darwin
//! machines in services without darwin support (C010), and the removed `inventory.services`
//! (C013).
//!
//! Service lookup follows clan-core: `module.input` unset or "clan-core" is the built-in
//! catalog, "self" is the flake's `clan.modules`, any other input is a flake clanc cannot read.
//! An instance whose service is unknown (unreadable input, unknown `clan.modules` entry, a
//! module name or input that is itself unknown) gets no role, setting or constraint
//! diagnostics; machines and tags are facts of the inventory and are still checked.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Span};
use crate::model::{Clan, Instance, Known, MachineClass, Role};
use crate::services::catalog::{Catalog, Service};
use crate::services::history::Pin;

use super::clan::{first_span, machines_complete, unknown_below};
use super::suggest::{did_you_mean, list_names};
use crate::diagnostics::Code;

/// The service each instance uses, for the instances whose service is known.
pub(super) type Services<'a> = BTreeMap<&'a str, &'a Service>;

/// clan-core turned `inventory.services` into a removed option (defining it has no effect)
/// on 2025-08-16, and since 2026-05-29 rejects any definition of it. By the pinned clan-core's
/// commit time (a day of margin each way; `None` for a clan without a lock, which gets the
/// newest): what defining it does, or `None` where nothing is certain to go wrong.
fn legacy_services_message(clan: &Clan) -> Option<&'static str> {
    const IGNORED_SINCE: i64 = 1_755_388_800; // 2025-08-17T00:00Z
    const REJECTED_SINCE: i64 = 1_780_099_200; // 2026-05-30T00:00Z
    match clan.clan_core_last_modified {
        Some(t) if t < IGNORED_SINCE => None,
        Some(t) if t < REJECTED_SINCE => (!clan.legacy_services_empty).then_some(
            "`inventory.services` was removed from clan-core: the pinned clan-core ignores what is defined there; expected `inventory.instances`",
        ),
        _ => Some(
            "`inventory.services` was removed from clan-core; expected `inventory.instances`",
        ),
    }
}

/// Runs the role checks and returns the services that were found, for the other families.
pub(super) fn check<'a>(
    clan: &'a Clan,
    catalog: &'a Catalog,
    out: &mut Vec<Diagnostic>,
) -> Services<'a> {
    if let Some(span) = &clan.legacy_services
        && let Some(message) = legacy_services_message(clan)
    {
        out.push(
            Diagnostic::error(Code::C013, message, span.clone())
            .with_help(
                "rewrite each service as an instance: `inventory.instances.<name> = { module.name = \"<service>\"; roles.<role>.machines.<machine> = { }; }`",
            ),
        );
    }
    let mut services = Services::new();
    // (origin, module name) -> instances using it, for maxInstances.
    let mut by_service: BTreeMap<(&str, &str), Vec<&Instance>> = BTreeMap::new();
    for (name, instance) in &clan.instances {
        if let Some((origin, service)) = lookup_service(clan, catalog, instance, out) {
            services.insert(name.as_str(), service);
            by_service
                .entry((origin, service.name.as_str()))
                .or_default()
                .push(instance);
            check_roles(clan, instance, service, out);
        }
        for role in instance.roles.values() {
            check_role_machines(clan, instance, role, out);
            check_role_tags(clan, instance, role, out);
        }
    }
    for ((_, service_name), instances) in &by_service {
        let Some(service) = instances
            .first()
            .and_then(|i| services.get(i.name.as_str()))
        else {
            continue;
        };
        check_max_instances(service_name, service, instances, out);
    }
    services
}

/// The service an instance uses and where it comes from ("clan-core" or "self"); `None` when
/// it is unknown or does not exist (then C003 or C004 is reported here).
fn lookup_service<'a>(
    clan: &'a Clan,
    catalog: &'a Catalog,
    instance: &Instance,
    out: &mut Vec<Diagnostic>,
) -> Option<(&'static str, &'a Service)> {
    let input = match &instance.module_input {
        None => None,
        Some(spanned) => match &spanned.value {
            Known::Known(input) => Some((input.as_str(), spanned)),
            Known::Unknown(_) => return None,
        },
    };
    // A named input must exist: "self" always does.
    if let Some((input, spanned)) = input
        && input != "self"
        && let Known::Known(inputs) = &clan.inputs
        && !inputs.iter().any(|i| i == input)
    {
        missing_input(instance, input, spanned.span.as_ref(), inputs, out);
        return None;
    }
    let Known::Known(module_name) = &instance.module_name.value else {
        return None;
    };
    // The instance key when the name is defaulted (the model already puts that span there).
    let name_span = first_span(&[instance.module_name.span.as_ref(), instance.span.as_ref()]);
    let defaulted = if instance.module_name_defaulted {
        " (`module.name` is not set, so it defaults to the instance name)"
    } else {
        ""
    };
    let pin = Pin {
        rev: clan.clan_core_rev.as_deref(),
        time: clan.clan_core_last_modified,
    };
    let input = match input.map(|(i, _)| i) {
        // Until 2025-06-30 clan-core took an instance without `module.input` from the
        // flake's own `clan.modules`; since, from clan-core's services.
        None => match crate::model::default_service_source(pin.time) {
            Some(crate::model::ServiceSource::Flake) => Some("self"),
            Some(crate::model::ServiceSource::ClanCore) => None,
            None => return None,
        },
        other => other,
    };
    match input {
        None | Some("clan-core") => {
            clan_core_service(clan, catalog, module_name, pin, name_span, defaulted, out)
        }
        Some("self") => flake_service(clan, module_name, name_span, defaulted, out),
        // Another flake's services: clanc cannot read them.
        Some(_) => None,
    }
}

/// C004: the instance takes its module from an input the flake does not have.
fn missing_input(
    instance: &Instance,
    input: &str,
    input_span: Option<&Span>,
    inputs: &[String],
    out: &mut Vec<Diagnostic>,
) {
    if let Some(span) = first_span(&[input_span, instance.span.as_ref()]) {
        let mut help = format!(
            "set `module.input` to one of the flake's inputs ({}), to \"self\" for this flake's `clan.modules`, or leave it unset for clan-core's services",
            list_names(inputs)
        );
        if let Some(suggestion) = did_you_mean(input, inputs) {
            help = format!("{suggestion} {help}");
        }
        out.push(
            Diagnostic::error(
                Code::C004,
                format!(
                    "instance `{}` takes its module from the input `{input}`, which the flake does not have; expected a flake input or \"self\"",
                    instance.name
                ),
                span,
            )
            .with_help(help),
        );
    }
}

/// A service of clan-core (`module.input` unset or "clan-core"), if the pinned clan-core
/// certainly has it as the catalog describes it; C003 when it certainly has no such service.
fn clan_core_service<'a>(
    clan: &Clan,
    catalog: &'a Catalog,
    module_name: &str,
    pin: Pin<'_>,
    name_span: Option<Span>,
    defaulted: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<(&'static str, &'a Service)> {
    let history = &catalog.history;
    // clan-core's own source, when on this machine, says which services it has; the
    // catalog describes one version of them.
    let sources = &clan.service_sources;
    if sources.clan_core_dir.is_some() && sources.clan_core_services.contains(module_name) {
        return catalog.service(module_name).and_then(|service| {
            history
                .describes(module_name, pin)
                .then_some(("clan-core", service))
        });
    }
    if let Some(service) = catalog.service(module_name) {
        // A service of another clan-core than the catalog's: its roles and settings
        // may differ, nothing about it is certain.
        return history
            .describes(module_name, pin)
            .then_some(("clan-core", service));
    }
    if history.may_exist(module_name, pin) {
        return None;
    }
    if let Some(span) = name_span {
        let mut help = format!(
            "use one of clan-core's services ({}), or set `module.input` to the flake that provides `{module_name}`",
            list_names(catalog.services.keys())
        );
        if let Some(suggestion) = did_you_mean(module_name, catalog.services.keys()) {
            help = format!("{suggestion} {help}");
        }
        out.push(
            Diagnostic::error(
                Code::C003,
                format!(
                    "clan-core doesn't provide a clan service named `{module_name}`{defaulted}"
                ),
                span,
            )
            .with_help(help),
        );
    }
    None
}

/// A service of this flake's `clan.modules` (`module.input = "self"`), if known; C003 when
/// the flake's modules are all known and none has that name.
fn flake_service<'a>(
    clan: &'a Clan,
    module_name: &str,
    name_span: Option<Span>,
    defaulted: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<(&'static str, &'a Service)> {
    if let Some(service) = clan.flake_services.get(module_name) {
        return service.service.known().map(|s| ("self", s));
    }
    // The flake's `clan.modules` may be only partly known: then say nothing.
    if unknown_below(clan, &["modules", "clan.modules"]) {
        return None;
    }
    if let Some(span) = name_span {
        let names = clan.flake_services.keys();
        let mut help = format!(
            "define `clan.modules.{module_name}`, or use one this flake defines ({})",
            list_names(names.clone())
        );
        if let Some(suggestion) = did_you_mean(module_name, names) {
            help = format!("{suggestion} {help}");
        }
        out.push(
            Diagnostic::error(
                Code::C003,
                format!(
                    "this flake's `clan.modules` doesn't provide a clan service named `{module_name}`{defaulted}"
                ),
                span,
            )
            .with_help(help),
        );
    }
    None
}

fn check_roles(clan: &Clan, instance: &Instance, service: &Service, out: &mut Vec<Diagnostic>) {
    for (role_name, role) in &instance.roles {
        if !service.roles.contains_key(role_name) {
            if let Some(span) = first_span(&[role.span.as_ref(), instance.span.as_ref()]) {
                let mut help = format!(
                    "use one of the roles `{}` defines: {}",
                    service.name,
                    list_names(service.roles.keys())
                );
                if let Some(suggestion) = did_you_mean(role_name, service.roles.keys()) {
                    help = format!("{suggestion} {help}");
                }
                out.push(
                    Diagnostic::error(
                        Code::C002,
                        format!(
                            "instance `{}` uses the role `{role_name}`, which the service `{}` does not define; expected one of {}",
                            instance.name,
                            service.name,
                            list_names(service.roles.keys())
                        ),
                        span,
                    )
                    .with_help(help),
                );
            }
            continue;
        }
        check_darwin_machines(clan, instance, role, service, out);
    }
    // Role constraints, also for roles the instance does not use (`minMachines`).
    for (role_name, service_role) in &service.roles {
        let constraint = service_role.constraint;
        if constraint.min_machines.is_none() && constraint.max_machines.is_none() {
            continue;
        }
        let role = instance.roles.get(role_name);
        let machines: Vec<&str> = match role.map(|r| &r.resolved) {
            None => Vec::new(),
            Some(Known::Known(machines)) => machines.iter().map(String::as_str).collect(),
            // A tag whose members are unknown: the count is unknown.
            Some(Known::Unknown(_)) => continue,
        };
        let count = machines.len() as u32;
        let expected = match (constraint.min_machines, constraint.max_machines) {
            (Some(min), Some(max)) if min == max => format!("exactly {min}"),
            (Some(min), Some(max)) => format!("between {min} and {max}"),
            (Some(min), None) => format!("at least {min}"),
            (None, Some(max)) => format!("at most {max}"),
            (None, None) => continue,
        };
        let too_few = constraint.min_machines.is_some_and(|min| count < min);
        let too_many = constraint.max_machines.is_some_and(|max| count > max);
        if !too_few && !too_many {
            continue;
        }
        let span = first_span(&[role.and_then(|r| r.span.as_ref()), instance.span.as_ref()]);
        let Some(span) = span else { continue };
        let found = if machines.is_empty() {
            "none".to_string()
        } else {
            format!("{count} ({})", list_names(machines.iter().copied()))
        };
        let help = if too_many {
            format!(
                "keep {expected} machine(s) in `roles.{role_name}`: name them directly or narrow its tags"
            )
        } else {
            format!("add {expected} machine(s) to `roles.{role_name}`")
        };
        out.push(
            Diagnostic::error(
                Code::C009,
                format!(
                    "role `{role_name}` of the {} instance `{}` takes {expected} machine(s), but {found} {} assigned (after tags resolve)",
                    service.name,
                    instance.name,
                    if count == 1 { "is" } else { "are" }
                ),
                span,
            )
            .with_help(help),
        );
    }
}

fn check_max_instances(
    service_name: &str,
    service: &Service,
    instances: &[&Instance],
    out: &mut Vec<Diagnostic>,
) {
    let Some(max) = service.max_instances else {
        return;
    };
    if instances.len() <= max as usize {
        return;
    }
    let first = instances.first().and_then(|i| i.span.clone());
    for instance in instances.iter().skip(max as usize) {
        let Some(span) = instance.span.clone() else {
            continue;
        };
        let mut diagnostic = Diagnostic::error(
            Code::C009,
            format!(
                "the service `{service_name}` allows at most {max} instance(s), but {} instances use it; `{}` is one too many",
                instances.len(),
                instance.name
            ),
            span,
        )
        .with_help(format!(
            "merge the instances of `{service_name}` into one, or remove `{}`",
            instance.name
        ));
        if let Some(first) = &first {
            diagnostic = diagnostic.with_label(first.clone(), "first instance here");
        }
        out.push(diagnostic);
    }
}

/// C010: a darwin machine named directly in a role of a service without a darwin module, with
/// no extraModules that could carry its configuration. Tag-based assignment (`tags.all`) is
/// normal and never reported.
fn check_darwin_machines(
    clan: &Clan,
    instance: &Instance,
    role: &Role,
    service: &Service,
    out: &mut Vec<Diagnostic>,
) {
    // A service whose classes were not determined says nothing about darwin.
    if service.classes.is_empty() || service.supports_class("darwin") {
        return;
    }
    if !role.extra_modules.is_empty() {
        return;
    }
    for (machine_name, role_machine) in &role.machines {
        let Some(machine) = clan.machines.get(machine_name) else {
            continue;
        };
        if machine.class.value != Known::Known(MachineClass::Darwin) {
            continue;
        }
        let Some(span) = first_span(&[
            role_machine.span.as_ref(),
            role.span.as_ref(),
            instance.span.as_ref(),
        ]) else {
            continue;
        };
        out.push(
            Diagnostic::warning(
                Code::C010,
                format!(
                    "`{machine_name}` is a darwin machine, but the service `{}` only has modules for {}: role `{}` of instance `{}` has no effect on it",
                    service.name,
                    service.classes.join(", "),
                    role.name,
                    instance.name
                ),
                span,
            )
            .with_help(format!(
                "remove `{machine_name}` from `roles.{}.machines`, or add `extraModules` with its darwin configuration",
                role.name
            )),
        );
    }
}

/// C001: a machine named in a role that no inventory source defines.
fn check_role_machines(clan: &Clan, instance: &Instance, role: &Role, out: &mut Vec<Diagnostic>) {
    if !machines_complete(clan) {
        return;
    }
    for (machine_name, role_machine) in &role.machines {
        if clan.machines.contains_key(machine_name) {
            continue;
        }
        let Some(span) = first_span(&[
            role_machine.span.as_ref(),
            role.span.as_ref(),
            instance.span.as_ref(),
        ]) else {
            continue;
        };
        let mut help = "define the machine (`inventory.machines`, `clan.machines` or a `machines/<name>/` folder) or fix the name".to_string();
        if let Some(suggestion) = did_you_mean(machine_name, clan.machines.keys()) {
            help = format!("{suggestion} {help}");
        }
        out.push(
            Diagnostic::error(
                Code::C001,
                format!(
                    "role `{}` of instance `{}` names the machine `{machine_name}`, which no inventory source defines; clan-core silently ignores it",
                    role.name, instance.name
                ),
                span,
            )
            .with_help(help),
        );
    }
}

/// The members of a tag, when they are known: the model's tags, else the computed ones.
fn tag_members(clan: &Clan, tag: &str) -> Option<Known<usize>> {
    if let Some(t) = clan.tags.get(tag) {
        return Some(match &t.members {
            Known::Known(members) => Known::Known(members.len()),
            Known::Unknown(reason) => Known::Unknown(reason.clone()),
        });
    }
    let class = match tag {
        "all" => return Some(Known::Known(clan.machines.len())),
        "nixos" => MachineClass::Nixos,
        "darwin" => MachineClass::Darwin,
        _ => return None,
    };
    let mut count = 0;
    for machine in clan.machines.values() {
        match &machine.class.value {
            Known::Known(c) if *c == class => count += 1,
            Known::Known(_) => {}
            Known::Unknown(reason) => return Some(Known::Unknown(reason.clone())),
        }
    }
    Some(Known::Known(count))
}

/// C005: a tag in a role that matches no machine.
fn check_role_tags(clan: &Clan, instance: &Instance, role: &Role, out: &mut Vec<Diagnostic>) {
    let tags_complete = machines_complete(clan)
        && !unknown_below(clan, &["tags", "inventory.tags"])
        && clan.machines.values().all(|m| m.tags_unknown.is_none());
    for tag in &role.tags {
        let empty = match tag_members(clan, &tag.value) {
            Some(Known::Known(n)) => n == 0,
            Some(Known::Unknown(_)) => false,
            // No machine carries the tag and `inventory.tags` does not define it.
            None => tags_complete,
        };
        if !empty {
            continue;
        }
        let Some(span) = first_span(&[
            tag.span.as_ref(),
            role.span.as_ref(),
            instance.span.as_ref(),
        ]) else {
            continue;
        };
        let available: Vec<&str> = clan
            .tags
            .iter()
            .filter(|(_, t)| !matches!(&t.members, Known::Known(m) if m.is_empty()))
            .map(|(name, _)| name.as_str())
            .collect();
        let mut help = format!(
            "available tags: {}; tag a machine with `{}` or use one of those",
            list_names(available.iter().copied()),
            tag.value
        );
        if let Some(suggestion) = did_you_mean(&tag.value, available.iter().copied()) {
            help = format!("{suggestion} {help}");
        }
        out.push(
            Diagnostic::warning(
                Code::C005,
                format!(
                    "no machine has the tag `{}`: role `{}` of instance `{}` gets no machines from it",
                    tag.value, role.name, instance.name
                ),
                span,
            )
            .with_help(help),
        );
    }
}

#[cfg(test)]
mod tests;
