//! Role settings against the role's interface: unknown settings (C007), values of the wrong
//! type (C006), required options left unset (C008) and conflicting definitions at equal
//! priority (C012).
//!
//! A machine's settings for a role are the role's `settings` and the machine's own
//! `roles.<r>.machines.<m>.settings` (clan-core also merges each matching tag's settings; the
//! model does not carry those, so they are not part of the merge), merged the way the module
//! system does: `mkMerge` splits, `mkIf` pushes its condition down (an unknown condition makes
//! the definition "maybe": it is never type-checked and never conflicts), `mkOverride` pushes
//! its priority down (plain 100, `mkDefault` 1000, `mkForce` 50; the lowest number wins), and
//! only the winning definitions of an option are type-checked. An unknown value, or a settings
//! module that is a function or has `imports`/`options`, makes the part it covers unknown:
//! nothing is reported there.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Span};
use crate::model::{Clan, Data, Instance, Known, MachineClass, Role, Spanned};
use crate::modules::option_type::OptionType;
use crate::services::catalog::{self, OptionDecl};

use super::clan::first_span;
use super::roles::Services;
use super::suggest::{did_you_mean, list_names};
use super::type_check::{describe_value, type_check};
use crate::diagnostics::Code;

const PLAIN_PRIORITY: i64 = 100;

pub(super) fn check(clan: &Clan, services: &Services, out: &mut Vec<Diagnostic>) {
    for (instance_name, instance) in &clan.instances {
        let Some(service) = services.get(instance_name.as_str()) else {
            continue;
        };
        for (role_name, role) in &instance.roles {
            let Some(service_role) = service.roles.get(role_name) else {
                continue;
            };
            let ctx = RoleCtx {
                // clan-core evaluates a service only for machines of a class it supports.
                skips_darwin: !service.classes.is_empty() && !service.supports_class("darwin"),
                instance,
                role,
                tree: OptNode::build(&service_role.options),
                service_role,
            };
            ctx.check(clan, out);
        }
    }
}

/// The options of a role interface as a tree of path segments; `<name>` is the segment of an
/// `attrsOf (submodule ...)` entry and matches any key.
#[derive(Default)]
struct OptNode<'a> {
    decl: Option<&'a OptionDecl>,
    children: BTreeMap<&'a str, OptNode<'a>>,
}

const ANY_NAME: &str = "<name>";

impl<'a> OptNode<'a> {
    fn build(options: &'a [OptionDecl]) -> OptNode<'a> {
        let mut root = OptNode::default();
        for option in options {
            let mut node = &mut root;
            for segment in option.path.split('.') {
                node = node.children.entry(segment).or_default();
            }
            node.decl = Some(option);
        }
        root
    }

    fn child(&self, key: &str) -> Option<&OptNode<'a>> {
        self.children
            .get(key)
            .or_else(|| self.children.get(ANY_NAME))
    }

    fn child_names(&self) -> impl Iterator<Item = &&'a str> {
        self.children.keys().filter(|k| **k != ANY_NAME)
    }
}

/// One definition of one option (after pushing `mkIf`/`mkOverride` down to it).
struct Def<'a> {
    decl: &'a OptionDecl,
    value: &'a Spanned<Data>,
    span: Option<Span>,
    priority: i64,
    maybe: bool,
}

struct UnknownKey {
    path: String,
    key: String,
    span: Option<Span>,
    candidates: Vec<String>,
}

struct ShapeError {
    path: String,
    span: Option<Span>,
    found: String,
    children: Vec<String>,
}

#[derive(Default)]
struct Collected<'a> {
    /// Concrete option path (`destinations.offsite.repo`) -> its definitions in order.
    defs: BTreeMap<String, Vec<Def<'a>>>,
    /// Concrete paths whose content is unknown ("" is all of it).
    unknown: Vec<String>,
    /// A settings module that may declare options itself (a function, `imports`, `options`,
    /// `freeformType`): then no setting can be called undeclared.
    options_unknown: bool,
    unknown_keys: Vec<UnknownKey>,
    shape_errors: Vec<ShapeError>,
}

/// Where the definitions being walked sit: priority pushed down, and whether they are active.
#[derive(Clone, Copy)]
struct Mode {
    priority: Option<i64>,
    maybe: bool,
    /// Under `mkIf false`: defines nothing, but undeclared settings are still errors (the
    /// module system checks that every definition has an option before it looks at mkIf).
    inactive: bool,
}

const STRUCTURAL_KEYS: [&str; 7] = [
    "_class",
    "_file",
    "key",
    "disabledModules",
    "meta",
    "_module",
    "config",
];

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Whether `path` is `prefix` or below it ("" covers everything).
fn covers(prefix: &str, path: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl<'a> Collected<'a> {
    /// A whole settings module: shorthand (`{ port = 1; }`) or full (`{ config = ...; }`).
    fn module(&mut self, root: &OptNode<'a>, data: &'a Spanned<Data>, fallback: Option<&Span>) {
        let mode = Mode {
            priority: None,
            maybe: false,
            inactive: false,
        };
        match &data.value {
            Data::Function | Data::Unknown(_) => {
                self.options_unknown = true;
                self.unknown.push(String::new());
            }
            Data::Attrs(entries) => {
                let declares_options = entries.contains_key("options")
                    || entries.contains_key("freeformType")
                    || entries.get("imports").is_some_and(
                        |imports| !matches!(&imports.value, Data::List(items) if items.is_empty()),
                    );
                if declares_options {
                    self.options_unknown = true;
                    self.unknown.push(String::new());
                    return;
                }
                let span = data.span.as_ref().or(fallback);
                if let Some(config) = entries.get("config") {
                    self.walk(root, "", config, span, mode);
                }
                for (key, value) in entries {
                    if STRUCTURAL_KEYS.contains(&key.as_str()) || key == "imports" {
                        continue;
                    }
                    self.entry(root, "", key, value, span, mode);
                }
            }
            _ => self.walk(root, "", data, fallback, mode),
        }
    }

    fn entry(
        &mut self,
        node: &OptNode<'a>,
        path: &str,
        key: &str,
        value: &'a Spanned<Data>,
        fallback: Option<&Span>,
        mode: Mode,
    ) {
        let child_path = join(path, key);
        match node.child(key) {
            Some(child) => self.walk(child, &child_path, value, fallback, mode),
            None => self.unknown_keys.push(UnknownKey {
                span: value
                    .key
                    .clone()
                    .or_else(|| value.span.clone())
                    .or_else(|| fallback.cloned()),
                path: child_path,
                key: key.to_string(),
                candidates: node.child_names().map(|s| s.to_string()).collect(),
            }),
        }
    }

    fn walk(
        &mut self,
        node: &OptNode<'a>,
        path: &str,
        data: &'a Spanned<Data>,
        fallback: Option<&Span>,
        mode: Mode,
    ) {
        let span = data.span.as_ref().or(fallback);
        match &data.value {
            Data::Unknown(_) | Data::Function => {
                if !mode.inactive {
                    self.unknown.push(path.to_string());
                }
            }
            Data::Merge(items) => {
                for item in items {
                    self.walk(node, path, item, span, mode);
                }
            }
            Data::If { condition, content } => {
                let mode = match condition {
                    Known::Known(true) => mode,
                    Known::Known(false) => Mode {
                        inactive: true,
                        ..mode
                    },
                    Known::Unknown(_) => Mode {
                        maybe: true,
                        ..mode
                    },
                };
                self.walk(node, path, content, span, mode);
            }
            Data::Override { priority, content } => {
                // The outermost override is the one the module system reads.
                let mode = Mode {
                    priority: mode.priority.or(Some(*priority)),
                    ..mode
                };
                self.walk(node, path, content, span, mode);
            }
            Data::Order { content, .. } => self.walk(node, path, content, span, mode),
            // A group of options (or an interface's root, even without options), or an option
            // with sub-options (`attrsOf (submodule ...)`, `submodule`): descend.
            Data::Attrs(entries) if node.decl.is_none() || !node.children.is_empty() => {
                for (key, value) in entries {
                    self.entry(node, path, key, value, span, mode);
                }
            }
            _ => match node.decl {
                Some(decl) => {
                    if !mode.inactive {
                        self.defs.entry(path.to_string()).or_default().push(Def {
                            decl,
                            value: data,
                            span: span.cloned(),
                            priority: mode.priority.unwrap_or(PLAIN_PRIORITY),
                            maybe: mode.maybe,
                        });
                    }
                }
                None => {
                    if !mode.inactive && !mode.maybe {
                        self.shape_errors.push(ShapeError {
                            path: path.to_string(),
                            span: span.cloned(),
                            found: describe_value(&data.value),
                            children: node.child_names().map(|s| s.to_string()).collect(),
                        });
                    }
                }
            },
        }
    }

    fn is_unknown(&self, path: &str) -> bool {
        self.unknown.iter().any(|prefix| covers(prefix, path))
    }

    /// Whether anything (known, maybe or unknown) defines `path` or something below it.
    fn defines(&self, path: &str) -> bool {
        self.is_unknown(path)
            || self.unknown.iter().any(|u| covers(path, u))
            || self.defs.keys().any(|p| covers(path, p))
    }
}

struct RoleCtx<'a> {
    skips_darwin: bool,
    instance: &'a Instance,
    role: &'a Role,
    service_role: &'a catalog::Role,
    tree: OptNode<'a>,
}

impl<'a> RoleCtx<'a> {
    fn option_text(&self, path: &str) -> String {
        format!(
            "instances.{}.roles.{}.settings.{path}",
            self.instance.name, self.role.name
        )
    }

    fn role_span(&self) -> Option<Span> {
        first_span(&[self.role.span.as_ref(), self.instance.span.as_ref()])
    }

    fn check(&self, clan: &Clan, out: &mut Vec<Diagnostic>) {
        let role_settings = self.role.settings.as_ref();
        // Required options missing, per option: the machines that miss it.
        let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let machines: Vec<&str> = match &self.role.resolved {
            Known::Known(machines) => machines.iter().map(String::as_str).collect(),
            Known::Unknown(_) => {
                // Members of unknown tags get the role settings alone.
                if let Some(settings) = role_settings {
                    self.check_machine(None, &[settings], out);
                }
                self.role.machines.keys().map(String::as_str).collect()
            }
        };
        // What the role's settings alone leave unset: the same for every machine without
        // settings of its own, so checked once (its diagnostics would repeat at the same
        // places, which `check_clan` removes anyway).
        let mut role_only: Option<Vec<&str>> = None;
        for machine in machines {
            // Undefined machines (C001) are never evaluated.
            let Some(defined) = clan.machines.get(machine) else {
                continue;
            };
            // A darwin machine in a NixOS-only service is never evaluated for it.
            if self.skips_darwin && defined.class.value == Known::Known(MachineClass::Darwin) {
                continue;
            }
            let machine_settings = self
                .role
                .machines
                .get(machine)
                .and_then(|m| m.settings.as_ref());
            let sources: Vec<&Spanned<Data>> =
                role_settings.into_iter().chain(machine_settings).collect();
            let unset = match machine_settings {
                Some(_) => self.check_machine(Some(machine), &sources, out),
                None => role_only
                    .get_or_insert_with(|| self.check_machine(Some(machine), &sources, out))
                    .clone(),
            };
            for option in unset {
                missing.entry(option).or_default().push(machine);
            }
        }
        let Some(span) = self.role_span() else {
            return;
        };
        for (option, machines) in missing {
            let decl = self.service_role.option(option);
            let type_text = decl.map_or(String::new(), |d| {
                format!(" (type `{}`)", d.type_description)
            });
            let example = machines.first().copied().unwrap_or("<machine>");
            // Information only: the module system fails on an option without a value only
            // when something reads it, and whether the service's code reads it (wireguard's
            // peers read `controller` only when there are several controllers) is beyond
            // what clanc models.
            out.push(
                Diagnostic::new(
                    Code::C008,
                    crate::diagnostics::Severity::Info,
                    format!(
                        "the required option `{}` has no value for {} {}: clan-core fails if the service reads it",
                        self.option_text(option),
                        if machines.len() == 1 { "machine" } else { "machines" },
                        list_names(machines.iter().copied())
                    ),
                    span.clone(),
                )
                .with_help(format!(
                    "set `roles.{role}.settings.{option}`{type_text} for every machine of the role, or `roles.{role}.machines.{example}.settings.{option}` for one",
                    role = self.role.name
                )),
            );
        }
    }

    /// Checks the merge of `sources` for one machine (or for the role alone) and returns the
    /// required options it leaves unset.
    fn check_machine(
        &self,
        machine: Option<&str>,
        sources: &[&'a Spanned<Data>],
        out: &mut Vec<Diagnostic>,
    ) -> Vec<&'a str> {
        let mut collected = Collected::default();
        let fallback = self.role_span();
        for source in sources {
            collected.module(&self.tree, source, fallback.as_ref());
        }
        if !collected.options_unknown {
            for unknown in &collected.unknown_keys {
                self.report_unknown_key(unknown, out);
            }
        }
        for shape in &collected.shape_errors {
            if collected.is_unknown(&shape.path) {
                continue;
            }
            let Some(span) = shape.span.clone() else {
                continue;
            };
            out.push(
                Diagnostic::error(
                    Code::C006,
                    format!(
                        "`{}` is a group of options: expected an attribute set, found {}",
                        self.option_text(&shape.path),
                        shape.found
                    ),
                    span,
                )
                .with_help(format!(
                    "set its options instead: {}",
                    list_names(
                        shape
                            .children
                            .iter()
                            .map(|c| format!("{}.{c}", shape.path))
                            .collect::<Vec<_>>()
                            .iter()
                    )
                )),
            );
        }
        for (path, defs) in &collected.defs {
            if collected.is_unknown(path) {
                continue;
            }
            self.check_option(path, defs, out);
        }
        if machine.is_none() || collected.options_unknown {
            return Vec::new();
        }
        self.service_role
            .options
            .iter()
            .filter(|o| o.required && !o.path.contains(ANY_NAME))
            .filter(|o| !collected.defines(&o.path))
            .map(|o| o.path.as_str())
            .collect()
    }

    fn report_unknown_key(&self, unknown: &UnknownKey, out: &mut Vec<Diagnostic>) {
        let Some(span) = unknown.span.clone() else {
            return;
        };
        let declared: Vec<&str> = self
            .service_role
            .options
            .iter()
            .map(|o| o.path.as_str())
            .collect();
        let message = format!(
            "the option `{}` does not exist: role `{}` of the service declares no setting `{}`",
            self.option_text(&unknown.path),
            self.role.name,
            unknown.path
        );
        // A role that declares no options at all: its service cannot read any setting (the
        // first read would fail for every user), so clan-core never evaluates them and the
        // setting is silently ignored: a warning. Where options are declared, the service
        // reads its settings and the undeclared one fails the machine's evaluation.
        if declared.is_empty() {
            out.push(
                Diagnostic::warning(
                    Code::C007,
                    format!("{message}, so clan-core ignores it"),
                    span,
                )
                .with_help(format!(
                    "role `{}` declares no options at all: remove its `settings`",
                    self.role.name
                )),
            );
            return;
        }
        let help = {
            let suggestion = did_you_mean(&unknown.key, &unknown.candidates)
                .map(|s| format!("{s} "))
                .unwrap_or_default();
            format!(
                "{suggestion}remove it, or use a declared option: {}",
                list_names(declared.iter().copied())
            )
        };
        out.push(Diagnostic::error(Code::C007, message, span).with_help(help));
    }

    /// Type-checks the winning definitions of one option and reports equal-priority conflicts.
    fn check_option(&self, path: &str, defs: &[Def<'a>], out: &mut Vec<Diagnostic>) {
        let Some(best) = defs.iter().filter(|d| !d.maybe).map(|d| d.priority).min() else {
            return;
        };
        // A "maybe" definition that could win (or tie) makes the result unknown.
        if defs.iter().any(|d| d.maybe && d.priority <= best) {
            return;
        }
        let winners: Vec<&Def> = defs.iter().filter(|d| d.priority == best).collect();
        let mut mismatched = false;
        for def in &winners {
            if let Err(mismatch) = type_check(&def.decl.option_type, &def.value.value) {
                mismatched = true;
                let Some(span) = mismatch.span.clone().or_else(|| def.span.clone()) else {
                    continue;
                };
                let expected =
                    if mismatch.expected == super::type_check::describe(&def.decl.option_type) {
                        def.decl.type_description.clone()
                    } else {
                        mismatch.expected.clone()
                    };
                out.push(
                    Diagnostic::error(
                        Code::C006,
                        format!(
                            "a definition for option `{}` is not of type `{}`: expected {expected}, found {}",
                            self.option_text(path),
                            def.decl.type_description,
                            mismatch.found
                        ),
                        span,
                    )
                    .with_help(type_hint(&def.decl.option_type, &def.value.value)),
                );
            }
        }
        if mismatched || winners.len() < 2 || !single_valued(&winners[0].decl.option_type) {
            return;
        }
        let first = winners[0];
        for later in &winners[1..] {
            match same_value(&first.value.value, &later.value.value) {
                Some(false) => {}
                // Equal, or not comparable (unknown parts): no conflict.
                _ => continue,
            }
            let (primary, label) = match (later.span.clone(), first.span.clone()) {
                (Some(p), l) => (p, l),
                (None, Some(p)) => (p, None),
                (None, None) => match self.role_span() {
                    Some(p) => (p, None),
                    None => continue,
                },
            };
            let mut diagnostic = Diagnostic::error(
                Code::C012,
                format!(
                    "the option `{}` has conflicting definitions at the same priority ({}): expected one value, found {} and {}",
                    self.option_text(path),
                    best,
                    describe_value(&first.value.value),
                    describe_value(&later.value.value)
                ),
                primary,
            )
            .with_help(
                "keep one definition, or say which wins with `lib.mkForce` (or `lib.mkDefault` on the other)",
            );
            if let Some(label) = label {
                diagnostic = diagnostic.with_label(label, "also defined here");
            }
            out.push(diagnostic);
            break;
        }
    }
}

/// A hint for a value of the wrong type.
fn type_hint(option_type: &OptionType, data: &Data) -> String {
    let data = strip(data);
    let inner = match option_type {
        OptionType::NullOr(inner) => inner.as_ref(),
        t => t,
    };
    match (inner, data) {
        (OptionType::Int { .. }, Data::String(s)) if s.trim().parse::<i64>().is_ok() => {
            format!("write the number without quotes: `{}`", s.trim())
        }
        (OptionType::Int { min, max }, Data::Int(_)) => match (min, max) {
            (Some(min), Some(max)) => format!("use a value between {min} and {max}"),
            (Some(min), None) => format!("use a value of at least {min}"),
            (None, Some(max)) => format!("use a value of at most {max}"),
            (None, None) => "use an integer".to_string(),
        },
        (OptionType::Bool, Data::String(s)) if s == "true" || s == "false" => {
            format!("write the boolean without quotes: `{s}`")
        }
        (OptionType::Str, Data::Int(i)) => format!("write the value as a string: `\"{i}\"`"),
        (OptionType::ListOf(_), Data::String(s)) => {
            format!("write a list: `[ {s:?} ]`")
        }
        (OptionType::Enum(values), _) => format!(
            "use one of {}",
            values
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "change the value to one of the option's type".to_string(),
    }
}

fn strip(data: &Data) -> &Data {
    match data {
        Data::Override { content, .. } | Data::Order { content, .. } => strip(&content.value),
        Data::If {
            condition: Known::Known(true),
            content,
        } => strip(&content.value),
        other => other,
    }
}

/// Types whose definitions do not merge: two different values are a conflict
/// (`mergeEqualOption`).
fn single_valued(option_type: &OptionType) -> bool {
    match option_type {
        OptionType::Str
        | OptionType::SingleLineStr
        | OptionType::StrMatching(_)
        | OptionType::Bool
        | OptionType::Int { .. }
        | OptionType::Float
        | OptionType::Enum(_)
        | OptionType::Path { .. } => true,
        OptionType::NullOr(inner) => single_valued(inner),
        _ => false,
    }
}

/// Whether two values are equal, ignoring spans; `None` when either has unknown parts.
fn same_value(a: &Data, b: &Data) -> Option<bool> {
    match (strip(a), strip(b)) {
        (Data::Unknown(_), _) | (_, Data::Unknown(_)) => None,
        (Data::Function, _) | (_, Data::Function) => None,
        (Data::If { .. }, _) | (_, Data::If { .. }) => None,
        (Data::Merge(_), _) | (_, Data::Merge(_)) => None,
        (Data::List(x), Data::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut all = Some(true);
            for (x, y) in x.iter().zip(y) {
                match same_value(&x.value, &y.value) {
                    Some(true) => {}
                    Some(false) => return Some(false),
                    None => all = None,
                }
            }
            all
        }
        (Data::Attrs(x), Data::Attrs(y)) => {
            if !x.keys().eq(y.keys()) {
                return Some(false);
            }
            let mut all = Some(true);
            for (x, y) in x.values().zip(y.values()) {
                match same_value(&x.value, &y.value) {
                    Some(true) => {}
                    Some(false) => return Some(false),
                    None => all = None,
                }
            }
            all
        }
        (x, y) => Some(x == y),
    }
}

#[cfg(test)]
mod tests;
