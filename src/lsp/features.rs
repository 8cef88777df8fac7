//! Hover and go-to-definition over the typed model: what the user points at is the smallest
//! span of the model (a machine, tag, role, setting, instance or module name) in the current
//! file that contains the cursor. Pure functions of the model, so they test without a client.

use std::fmt::Write as _;

use rnix::TextSize;

use crate::diagnostics::Span;
use crate::model::why::{Membership, Reason, reason_text, service_label, source_text};
use crate::model::{Clan, Data, Instance, Known, Role, Spanned};
use crate::services::catalog::{Catalog, OptionDecl, Service};

/// What a position of the user's text names.
#[derive(Clone, Debug, PartialEq)]
pub enum Target<'c> {
    /// A machine's definition key, or a machine named in a role.
    Machine(&'c str),
    /// A tag named in a role or a machine's tags, or a tag's `inventory.tags` key.
    Tag(&'c str),
    /// `instances.<i>.roles.<r>`.
    Role(&'c Instance, &'c Role),
    /// A key inside a role's settings or a role machine's settings; `path` is dotted below
    /// `settings`.
    Setting(&'c Instance, &'c Role, String),
    /// `instances.<i>`.
    Instance(&'c Instance),
    /// `module.name` of an instance.
    ModuleName(&'c Instance),
}

/// The target under `offset` in `file` (clan-relative path), with the span it was found by.
pub fn target_at<'c>(clan: &'c Clan, file: &str, offset: TextSize) -> Option<(Span, Target<'c>)> {
    let mut best: Option<(Span, Target<'c>)> = None;
    let mut consider = |span: &Option<Span>, target: Target<'c>| {
        let Some(span) = span else { return };
        if &*span.file != file || span.range.is_empty() || !span.range.contains_inclusive(offset) {
            return;
        }
        if best
            .as_ref()
            .is_none_or(|(b, _)| span.range.len() < b.range.len())
        {
            best = Some((span.clone(), target));
        }
    };
    for machine in clan.machines.values() {
        consider(&machine.span, Target::Machine(&machine.name));
        for tag in &machine.tags {
            consider(&tag.span, Target::Tag(&tag.value));
        }
    }
    for tag in clan.tags.values() {
        consider(&tag.span, Target::Tag(&tag.name));
    }
    for instance in clan.instances.values() {
        consider(&instance.span, Target::Instance(instance));
        if !instance.module_name_defaulted {
            consider(&instance.module_name.span, Target::ModuleName(instance));
        }
        for role in instance.roles.values() {
            consider(&role.span, Target::Role(instance, role));
            for tag in &role.tags {
                consider(&tag.span, Target::Tag(&tag.value));
            }
            let mut settings = Vec::new();
            if let Some(s) = &role.settings {
                settings_keys(s, &mut Vec::new(), &mut settings);
            }
            for machine in role.machines.values() {
                consider(&machine.span, Target::Machine(&machine.name));
                if let Some(s) = &machine.settings {
                    settings_keys(s, &mut Vec::new(), &mut settings);
                }
            }
            for (span, path) in settings {
                consider(&Some(span), Target::Setting(instance, role, path));
            }
        }
    }
    best
}

/// Every key written in a settings value, with its dotted path below `settings`.
fn settings_keys(data: &Spanned<Data>, path: &mut Vec<String>, out: &mut Vec<(Span, String)>) {
    match &data.value {
        Data::Attrs(attrs) => {
            for (name, value) in attrs {
                path.push(name.clone());
                if let Some(key) = &value.key {
                    out.push((key.clone(), path.join(".")));
                }
                settings_keys(value, path, out);
                path.pop();
            }
        }
        Data::Override { content, .. } | Data::If { content, .. } | Data::Order { content, .. } => {
            settings_keys(content, path, out)
        }
        Data::Merge(parts) => {
            for part in parts {
                settings_keys(part, path, out);
            }
        }
        _ => {}
    }
}

/// The service an instance uses, when clanc knows it: a built-in one from the catalog, or
/// this flake's own (`module.input = "self"`).
pub fn service_of<'c>(clan: &'c Clan, instance: &Instance) -> Option<&'c Service> {
    let name = instance.module_name.value.known()?;
    match instance.module_input.as_ref().map(|i| i.value.known()) {
        None => Catalog::builtin().service(name),
        Some(Some(input)) if input == "clan-core" => Catalog::builtin().service(name),
        Some(Some(input)) if input == "self" => clan.flake_services.get(name)?.service.known(),
        _ => None,
    }
}

fn is_self_service(instance: &Instance) -> bool {
    matches!(
        instance.module_input.as_ref().map(|i| &i.value),
        Some(Known::Known(input)) if input == "self"
    )
}

fn code_list(names: &[impl AsRef<str>]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn known_text(value: &Option<Spanned<Known<String>>>) -> Option<String> {
    value.as_ref().map(|v| match &v.value {
        Known::Known(text) => format!("`{text}`"),
        Known::Unknown(reason) => format!("unknown ({reason})"),
    })
}

/// Places a span of the model as `file:line` for a hover; the keys are where the definition
/// sits in `inventory.json` ([`crate::model::why::narrow_json`]).
pub type Locate<'a> = dyn FnMut(&Option<Span>, &[&str]) -> String + 'a;

/// The hover text (Markdown) for a target; `at` places the definitions a machine's hover
/// names.
pub fn hover(clan: &Clan, target: &Target<'_>, at: &mut Locate<'_>) -> String {
    match target {
        Target::Machine(name) => hover_machine(clan, name, at),
        Target::Tag(name) => hover_tag(clan, name),
        Target::Role(instance, role) => hover_role(clan, instance, role),
        Target::Setting(instance, role, path) => hover_setting(clan, instance, role, path),
        Target::Instance(instance) | Target::ModuleName(instance) => hover_instance(clan, instance),
    }
}

fn hover_machine(clan: &Clan, name: &str, at: &mut Locate<'_>) -> String {
    let mut out = String::new();
    let Some(machine) = clan.machines.get(name) else {
        let _ = write!(
            out,
            "**machine `{name}`**\n\nnot defined: no inventory machine, `clan.machines` entry, \
             `machines/{name}/` folder or `inventory.json` entry has this name"
        );
        return out;
    };
    let class = match &machine.class.value {
        Known::Known(class) => class.as_str().to_string(),
        Known::Unknown(reason) => format!("unknown class ({reason})"),
    };
    let _ = writeln!(out, "**machine `{name}`** ({class})\n");
    if let Some(description) = known_text(&machine.description) {
        let _ = writeln!(out, "- description: {description}");
    }
    let tags: Vec<&str> = machine.tags.iter().map(|t| t.value.as_str()).collect();
    match &machine.tags_unknown {
        Some(reason) if tags.is_empty() => {
            let _ = writeln!(out, "- tags: unknown ({reason})");
        }
        Some(reason) => {
            let _ = writeln!(
                out,
                "- tags: {} and unknown ones ({reason})",
                code_list(&tags)
            );
        }
        None => {
            let _ = writeln!(out, "- tags: {}", code_list(&tags));
        }
    }
    let _ = writeln!(
        out,
        "- target host: {}",
        known_text(&machine.target_host).unwrap_or_else(|| "not set".to_string())
    );
    if let Some(build) = known_text(&machine.build_host) {
        let _ = writeln!(out, "- build host: {build}");
    }
    out.push_str(&roles_why(clan, name, at));
    out
}

/// The roles a machine has and the definitions that put it there ([`Clan::why`]), as a
/// Markdown list; a role the model cannot tell is listed with the reason.
fn roles_why(clan: &Clan, name: &str, at: &mut Locate<'_>) -> String {
    let why = clan.why(name);
    let mut out = String::new();
    if let Some(reason) = &why.incomplete {
        let _ = write!(out, "\nincomplete: {reason}\n");
    }
    let _ = write!(out, "\nroles (instance/role):");
    match (why.roles.is_empty(), &why.incomplete) {
        (true, None) => out.push_str(" none"),
        (true, Some(_)) => out.push_str(" none known"),
        _ => {}
    }
    for role in &why.roles {
        let _ = write!(
            out,
            "\n- `{}/{}` ({})",
            role.instance, role.role, role.service
        );
        match &role.membership {
            Membership::Unknown(reason) => {
                let _ = write!(out, ": unknown ({reason})");
            }
            Membership::Certain(reasons) => {
                for reason in reasons {
                    let text = reason_text(name, &role.instance, &role.role, reason, at);
                    let _ = write!(out, "\n  - {text}");
                    if let Reason::Tag { tag, sources, .. } = reason {
                        for source in sources {
                            let text = source_text(name, tag, source, at);
                            let _ = write!(out, "\n    - {text}");
                        }
                    }
                }
            }
        }
    }
    out
}

fn members_text(members: &Known<Vec<String>>) -> String {
    match members {
        Known::Known(names) => code_list(names),
        Known::Unknown(reason) => format!("unknown ({reason})"),
    }
}

fn hover_tag(clan: &Clan, name: &str) -> String {
    match clan.tags.get(name) {
        Some(tag) => format!(
            "**tag `{name}`**{}\n\nmachines: {}",
            if tag.computed { " (computed)" } else { "" },
            members_text(&tag.members)
        ),
        None => match clan.machines.values().find(|m| m.tags_unknown.is_some()) {
            Some(m) => format!(
                "**tag `{name}`**\n\nno machine is known to have this tag; some tags of `{}` are unknown",
                m.name
            ),
            None => format!("**tag `{name}`**\n\nno machine has this tag"),
        },
    }
}

fn option_line(option: &OptionDecl) -> String {
    let mut line = format!("`{}`: {}", option.path, option.type_description);
    match (&option.default, option.required) {
        (Some(default), _) => {
            let _ = write!(line, ", default `{default}`");
        }
        (None, true) => line.push_str(", **required**"),
        (None, false) => {}
    }
    if option.read_only {
        line.push_str(", read-only");
    }
    line
}

fn hover_role(clan: &Clan, instance: &Instance, role: &Role) -> String {
    let mut out = format!(
        "**role `{}`** of `{}` (instance `{}`)\n",
        role.name,
        service_label(instance),
        instance.name
    );
    match service_of(clan, instance) {
        Some(service) => match service.roles.get(&role.name) {
            Some(decl) => {
                if let Some(description) = &decl.description {
                    let _ = write!(out, "\n{description}\n");
                }
                let _ = write!(out, "\noptions:");
                if decl.options.is_empty() {
                    let _ = write!(out, " none");
                }
                for option in &decl.options {
                    let _ = write!(out, "\n- {}", option_line(option));
                }
                out.push('\n');
            }
            None => {
                let roles: Vec<&String> = service.roles.keys().collect();
                let _ = write!(
                    out,
                    "\nthe service has no such role (its roles: {})\n",
                    code_list(&roles)
                );
            }
        },
        None => out.push_str("\nthe service is not known to clanc\n"),
    }
    let _ = write!(out, "\nmachines: {}", members_text(&role.resolved));
    out
}

fn hover_setting(clan: &Clan, instance: &Instance, role: &Role, path: &str) -> String {
    let mut out = format!("**setting `{path}`** of role `{}`", role.name);
    let _ = write!(out, " (`{}`)\n\n", service_label(instance));
    let Some(decl) = service_of(clan, instance).and_then(|s| s.roles.get(&role.name)) else {
        out.push_str("the service or role is not known to clanc");
        return out;
    };
    if let Some(option) = decl.option(path) {
        let _ = write!(out, "type: {}", option.type_description);
        match &option.default {
            Some(default) => {
                let _ = write!(out, "\n\ndefault: `{default}`");
            }
            None if option.required => out.push_str("\n\nrequired (no default)"),
            None => out.push_str("\n\nno default"),
        }
        if option.read_only {
            out.push_str("\n\nread-only");
        }
        return out;
    }
    let prefix = format!("{path}.");
    let below: Vec<&OptionDecl> = decl
        .options
        .iter()
        .filter(|o| o.path.starts_with(&prefix))
        .collect();
    if below.is_empty() {
        out.push_str("not an option of this role");
    } else {
        out.push_str("options below:");
        for option in below {
            let _ = write!(out, "\n- {}", option_line(option));
        }
    }
    out
}

fn hover_instance(clan: &Clan, instance: &Instance) -> String {
    let mut out = format!(
        "**instance `{}`** of `{}`\n",
        instance.name,
        service_label(instance)
    );
    if let Some(service) = service_of(clan, instance) {
        if let Some(description) = &service.description {
            let _ = write!(out, "\n{description}\n");
        }
        let roles: Vec<&String> = service.roles.keys().collect();
        let _ = write!(out, "\nroles of the service: {}\n", code_list(&roles));
    }
    for role in instance.roles.values() {
        let _ = write!(out, "\n- `{}`: {}", role.name, members_text(&role.resolved));
    }
    out
}

/// Where a target is defined: a machine's definition; a tag's `inventory.tags` entry, or else
/// the machines' tag entries that give it; a flake service's `clan.modules` entry (for
/// `module.name`) or its role's declaration.
pub fn definition(clan: &Clan, target: &Target<'_>) -> Vec<Span> {
    match target {
        Target::Machine(name) => clan
            .machines
            .get(*name)
            .and_then(|m| m.span.clone())
            .into_iter()
            .collect(),
        Target::Tag(name) => {
            if let Some(span) = clan.tags.get(*name).and_then(|t| t.span.clone()) {
                return vec![span];
            }
            clan.machines
                .values()
                .flat_map(|m| &m.tags)
                .filter(|t| t.value == *name)
                .filter_map(|t| t.span.clone())
                .collect()
        }
        Target::ModuleName(instance) | Target::Instance(instance) => flake_service(clan, instance)
            .and_then(|s| s.span.clone())
            .into_iter()
            .collect(),
        Target::Role(instance, role) | Target::Setting(instance, role, _) => {
            flake_service(clan, instance)
                .and_then(|s| s.role_spans.get(&role.name).cloned())
                .into_iter()
                .collect()
        }
    }
}

fn flake_service<'c>(
    clan: &'c Clan,
    instance: &Instance,
) -> Option<&'c crate::model::FlakeService> {
    if !is_self_service(instance) {
        return None;
    }
    clan.flake_services.get(instance.module_name.value.known()?)
}
