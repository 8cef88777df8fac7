//! Vars generators: dependencies on generators that do not exist (V001) and dependency cycles
//! (V002), both from `model::vars::order`; declared files with nothing under `vars/` yet (V003);
//! directories under `vars/` nothing declares (V004); file and prompt options out of range
//! (V006); secrets not encrypted for their machine or a user linked beside them (V005); shared
//! generators declared differently on two machines (V007); names that cannot name a file
//! (V008). The vars tree comes in as a `VarsListing` (`model::vars::listing`), a fact of the
//! workspace the caller lists.

use std::collections::{BTreeMap, BTreeSet};

use rnix::TextRange;

use crate::diagnostics::{Diagnostic, Span};
use crate::model::vars::generator::{NeededFor, PromptKind};
use crate::model::vars::order::{OrderError, dependency_errors};
use crate::model::vars::sops_facts::SopsFacts;
use crate::model::{Clan, Generator, Known, Machine, Spanned, VarFile};

use super::clan::{first_span, machines_complete, unknown_below};
use super::roles::Services;
use super::suggest::{did_you_mean, list_names};
use crate::diagnostics::Code;

pub use crate::model::vars::listing::{GeneratorDirs, VarsListing};

use crate::model::SERVICES_WITHOUT_VARS;

/// The generators clan-core's own NixOS modules (`nixosModules/clanCore`) may give a machine.
const CLAN_CORE_BASE_GENERATORS: &[&str] = &["state-version", "machine-id"];

/// A span for a path of the vars tree: the path, no line.
fn path_span(path: String) -> Span {
    Span::new(path, TextRange::empty(0.into()))
}

pub(super) fn check(
    clan: &Clan,
    services: &Services,
    listing: &VarsListing,
    out: &mut Vec<Diagnostic>,
) {
    let mut missing = MissingFiles::default();
    let mut all_known = true;
    let mut named = BTreeSet::new();
    for machine in clan.machines.values() {
        let known = generators_fully_known(clan, services, machine);
        all_known &= known;
        check_dependencies(machine, known, out);
        for generator in machine.generators.values() {
            check_names(machine, generator, &mut named, out);
            check_options(machine, generator, out);
            missing.collect(machine, generator, listing, clan.secrets_in_vars_tree());
        }
        if known {
            stale_generator_dirs(
                machine,
                listing,
                clan.clan_core_modules_unread().is_some(),
                out,
            );
        }
    }
    missing.report(out);
    secrets_for_machines(clan, listing, out);
    stale_recipients(clan, &listing.sops, out);
    shared_declared_differently(clan, out);
    if machines_complete(clan) {
        for name in listing.per_machine.keys() {
            if clan.machines.contains_key(name) {
                continue;
            }
            let mut help = format!(
                "delete `vars/per-machine/{name}/` if the machine is gone for good (and `sops/machines/{name}/`), or define the machine again"
            );
            if let Some(suggestion) = did_you_mean(name, clan.machines.keys()) {
                help = format!("{suggestion} {help}");
            }
            out.push(
                Diagnostic::warning(
                    Code::V004,
                    format!(
                        "`vars/per-machine/{name}/` belongs to the machine `{name}`, which the clan does not define; expected one of {}",
                        list_names(clan.machines.keys())
                    ),
                    path_span(format!("vars/per-machine/{name}")),
                )
                .with_help(help),
            );
        }
    }
    if all_known {
        let declared: BTreeSet<&str> = clan
            .machines
            .values()
            .flat_map(|m| m.generators.values())
            .filter(|g| g.share != Known::Known(false))
            .map(|g| g.name.as_str())
            .collect();
        for generator in listing.shared.keys() {
            if declared.contains(generator.as_str()) {
                continue;
            }
            out.push(
                Diagnostic::warning(
                    Code::V004,
                    format!(
                        "`vars/shared/{generator}/` belongs to no generator: no machine declares a shared generator `{generator}`; expected one of {}",
                        list_names(declared.iter().copied())
                    ),
                    path_span(format!("vars/shared/{generator}")),
                )
                .with_help(format!(
                    "delete `vars/shared/{generator}/` if the generator was removed, or declare it with `share = true`"
                )),
            );
        }
    }
}

/// Whether every generator the machine has is in the model: nothing it imports or is assigned
/// is opaque. clan-core's services declare generators inside clan-core (not in the catalog),
/// so a machine in a role of such a service has generators the model does not list.
fn generators_fully_known(clan: &Clan, services: &Services, machine: &Machine) -> bool {
    if machine
        .imports
        .iter()
        .any(|i| matches!(i.target, crate::model::ImportTarget::Unknown(_)))
    {
        return false;
    }
    if unknown_below(
        clan,
        &[
            &format!("machines.{}", machine.name),
            &format!("clan.machines.{}", machine.name),
        ],
    ) {
        return false;
    }
    // A service the model could not read or evaluate for the machine.
    if clan.generators_partial(machine).is_some() {
        return false;
    }
    // Without clan-core's own modules (its `state-version` generator), a machine taking part
    // in a service instance is not taken as fully known, as before the model read services.
    clan.clan_core_modules_unread().is_none() || !in_instance_with_vars(clan, services, machine)
}

/// Whether the machine takes part in an instance of a service that may give it generators.
fn in_instance_with_vars(clan: &Clan, services: &Services, machine: &Machine) -> bool {
    for (instance_name, instance) in &clan.instances {
        for role in instance.roles.values() {
            let member = match &role.resolved {
                Known::Known(machines) => machines.contains(&machine.name),
                Known::Unknown(_) => true,
            } || role.machines.contains_key(&machine.name);
            if !member {
                continue;
            }
            if !role.extra_modules.is_empty() {
                return true;
            }
            let from_clan_core = instance
                .module_input
                .as_ref()
                .is_none_or(|i| i.value == Known::Known("clan-core".to_string()));
            let builtin_without_vars = services.contains_key(instance_name.as_str())
                && from_clan_core
                && matches!(&instance.module_name.value,
                    Known::Known(name) if SERVICES_WITHOUT_VARS.contains(&name.as_str()));
            if !builtin_without_vars {
                return true;
            }
        }
    }
    false
}

/// V001 (only when the machine's generators are fully known: a dependency may name a
/// generator of a clan-core service) and V002.
fn check_dependencies(machine: &Machine, fully_known: bool, out: &mut Vec<Diagnostic>) {
    fn dependencies(g: &Generator) -> Vec<&str> {
        match &g.dependencies {
            Known::Known(deps) => deps.iter().map(|d| d.value.as_str()).collect(),
            Known::Unknown(_) => Vec::new(),
        }
    }
    let dependency_span = |generator: &Generator, dependency: &str| -> Option<Span> {
        let spanned = generator
            .dependencies
            .known()
            .and_then(|deps| deps.iter().find(|d| d.value == dependency))
            .and_then(|d| d.span.as_ref());
        first_span(&[spanned, generator.span.as_ref(), machine.span.as_ref()])
    };
    for error in dependency_errors(&machine.generators, dependencies) {
        match error {
            OrderError::UnknownDependency {
                generator,
                dependency,
            } => {
                if !fully_known {
                    continue;
                }
                let Some(g) = machine.generators.get(&generator) else {
                    continue;
                };
                let Some(span) = dependency_span(g, &dependency) else {
                    continue;
                };
                let mut help = format!(
                    "depend on one of the generators `{}` declares ({}), or declare `clan.core.vars.generators.{dependency}`",
                    machine.name,
                    list_names(machine.generators.keys())
                );
                if let Some(suggestion) = did_you_mean(&dependency, machine.generators.keys()) {
                    help = format!("{suggestion} {help}");
                }
                out.push(
                    Diagnostic::error(
                        Code::V001,
                        format!(
                            "vars generator `{generator}` depends on `{dependency}`, but machine `{}` declares no generator `{dependency}`",
                            machine.name
                        ),
                        span,
                    )
                    .with_help(help),
                );
            }
            OrderError::Cycle(names) => {
                let in_cycle: BTreeSet<&str> = names.iter().map(String::as_str).collect();
                let Some(start) = names.first() else { continue };
                let Some(first) = machine.generators.get(start) else {
                    continue;
                };
                // The path around the cycle from the generator whose name sorts first.
                let mut path = vec![start.as_str()];
                let mut current = first;
                let mut first_dependency = None;
                while let Some(next) = dependencies(current)
                    .into_iter()
                    .find(|d| in_cycle.contains(d))
                {
                    first_dependency.get_or_insert(next);
                    path.push(next);
                    if next == start || path.len() > names.len() + 1 {
                        break;
                    }
                    match machine.generators.get(next) {
                        Some(g) => current = g,
                        None => break,
                    }
                }
                let Some(span) = first_dependency.and_then(|d| dependency_span(first, d)) else {
                    continue;
                };
                out.push(
                    Diagnostic::error(
                        Code::V002,
                        format!(
                            "vars generators of machine `{}` depend on each other in a cycle: {}; expected an order in which each runs after its dependencies",
                            machine.name,
                            path.join(" -> ")
                        ),
                        span,
                    )
                    .with_help(
                        "remove one of these dependencies (a generator can also produce both files itself)",
                    ),
                );
            }
        }
    }
}

/// V008: generator, file and prompt names that are not one path component (`model::vars::names`).
/// A module imported by several machines declares its names once: one diagnostic per span.
fn check_names(
    machine: &Machine,
    generator: &Generator,
    reported: &mut BTreeSet<(String, u32, String)>,
    out: &mut Vec<Diagnostic>,
) {
    let mut names: Vec<(&'static str, &str, Option<&Span>)> =
        vec![("generator", &generator.name, generator.span.as_ref())];
    for file in generator.files.values() {
        names.push(("file", &file.name, file.span.as_ref()));
    }
    for prompt in generator.prompts.values() {
        names.push(("prompt", &prompt.name, prompt.span.as_ref()));
    }
    for (what, name, span) in names {
        let Some(why) = crate::model::vars::names::problem(name) else {
            continue;
        };
        let Some(span) = first_span(&[span, generator.span.as_ref(), machine.span.as_ref()]) else {
            continue;
        };
        let key = (
            span.file.to_string(),
            u32::from(span.range.start()),
            name.to_string(),
        );
        if !reported.insert(key) {
            continue;
        }
        let place = if what == "generator" {
            format!("generator {name:?}")
        } else {
            format!("{what} {name:?} of generator `{}`", generator.name)
        };
        out.push(
            Diagnostic::error(
                Code::V008,
                format!(
                    "the {place} cannot name a file or directory: {why}; it is a path component of the vars tree (`vars/per-machine/<machine>/<generator>/<file>/`)"
                ),
                span,
            )
            .with_help(
                "use a plain name (letters, digits, `-`, `_`, `.`): the name is a directory of the vars tree; `clanc vars generate` refuses to run this generator",
            ),
        );
    }
}

/// V006: file modes, `neededFor` and prompt types clan-core's option types reject.
fn check_options(machine: &Machine, generator: &Generator, out: &mut Vec<Diagnostic>) {
    let report = |out: &mut Vec<Diagnostic>,
                  value: &Spanned<Known<String>>,
                  enclosing: Option<&Span>,
                  message: String,
                  help: String| {
        if let Some(span) = first_span(&[
            value.span.as_ref(),
            enclosing,
            generator.span.as_ref(),
            machine.span.as_ref(),
        ]) {
            out.push(Diagnostic::error(Code::V006, message, span).with_help(help));
        }
    };
    for file in generator.files.values() {
        let place = format!("`{}.files.{}`", generator.name, file.name);
        if let Known::Known(mode) = &file.mode.value
            && !(mode.len() == 4 && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        {
            let help = if mode.len() < 4 && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                format!("write four octal digits: \"{mode:0>4}\"")
            } else {
                "write four octal digits, e.g. \"0400\" or \"0644\"".to_string()
            };
            report(
                out,
                &file.mode,
                file.span.as_ref(),
                format!(
                    "the mode of {place} is \"{mode}\"; expected four octal digits (^[0-7]{{4}}$)"
                ),
                help,
            );
        }
        if let Known::Known(needed_for) = &file.needed_for.value
            && NeededFor::parse(needed_for).is_none()
        {
            let options = ["partitioning", "activation", "users", "services"];
            let mut help = "use one of \"partitioning\", \"activation\", \"users\", \"services\" (the default)".to_string();
            if let Some(suggestion) = did_you_mean(needed_for, &options) {
                help = format!("{suggestion} {help}");
            }
            report(
                out,
                &file.needed_for,
                file.span.as_ref(),
                format!(
                    "`neededFor` of {place} is \"{needed_for}\"; expected one of \"partitioning\", \"activation\", \"users\", \"services\""
                ),
                help,
            );
        }
    }
    for prompt in generator.prompts.values() {
        if let Known::Known(kind) = &prompt.kind.value
            && PromptKind::parse(kind).is_none()
        {
            let options = ["hidden", "line", "multiline", "multiline-hidden"];
            let mut help = "use one of \"hidden\", \"line\" (the default), \"multiline\", \"multiline-hidden\"; \"hidden\" does not echo the input".to_string();
            if let Some(suggestion) = did_you_mean(kind, &options) {
                help = format!("{suggestion} {help}");
            }
            report(
                out,
                &prompt.kind,
                prompt.span.as_ref(),
                format!(
                    "the type of prompt `{}.prompts.{}` is \"{kind}\"; expected one of \"hidden\", \"line\", \"multiline\", \"multiline-hidden\"",
                    generator.name, prompt.name
                ),
                help,
            );
        }
    }
}

/// V004 for `vars/per-machine/<m>/<g>` that the machine (whose generators are fully known)
/// does not declare as a per-machine generator.
fn stale_generator_dirs(
    machine: &Machine,
    listing: &VarsListing,
    unread_base: bool,
    out: &mut Vec<Diagnostic>,
) {
    let Some(dirs) = listing.per_machine.get(&machine.name) else {
        return;
    };
    for generator in dirs.keys() {
        // clan-core's own modules give machines these; unread, they may declare them.
        if unread_base && CLAN_CORE_BASE_GENERATORS.contains(&generator.as_str()) {
            continue;
        }
        let declared = machine
            .generators
            .get(generator)
            .is_some_and(|g| g.share != Known::Known(true));
        if declared {
            continue;
        }
        let path = format!("vars/per-machine/{}/{generator}", machine.name);
        out.push(
            Diagnostic::warning(
                Code::V004,
                format!(
                    "`{path}/` belongs to no generator: machine `{}` declares no per-machine generator `{generator}`; expected one of {}",
                    machine.name,
                    list_names(
                        machine
                            .generators
                            .values()
                            .filter(|g| g.share != Known::Known(true))
                            .map(|g| g.name.as_str())
                    )
                ),
                path_span(path.clone()),
            )
            .with_help(format!(
                "delete `{path}/` if the generator was removed, or declare it again"
            )),
        );
    }
}

/// V003, grouped: one diagnostic per generator declaration, naming every machine that lacks
/// its files (a generator in a module imported by several machines has one declaration).
#[derive(Default)]
struct MissingFiles {
    entries: Vec<MissingEntry>,
}

struct MissingEntry {
    span: Span,
    /// The generator is declared in code outside the clan (a clan-core service's): the span
    /// is the machine's, shared by every such generator of the machine.
    undeclared: bool,
    generator: String,
    shared: bool,
    machines: Vec<String>,
    files: BTreeSet<String>,
}

impl MissingFiles {
    /// `secrets_in_tree`: the clan keeps secret vars under `vars/` (the sops store); with
    /// another store only public files are looked for.
    fn collect(
        &mut self,
        machine: &Machine,
        generator: &Generator,
        listing: &VarsListing,
        secrets_in_tree: bool,
    ) {
        let Known::Known(shared) = generator.share else {
            return;
        };
        let files: BTreeSet<String> = generator
            .files
            .iter()
            .filter(|(_, file)| secrets_in_tree || file.secret == Known::Known(false))
            .map(|(f, _)| f)
            .filter(|f| !listing.has_file(&machine.name, &generator.name, f, shared))
            .cloned()
            .collect();
        if files.is_empty() {
            return;
        }
        let Some(span) = first_span(&[generator.span.as_ref(), machine.span.as_ref()]) else {
            return;
        };
        match self
            .entries
            .iter_mut()
            .find(|e| e.span == span && e.generator == generator.name && e.shared == shared)
        {
            Some(entry) => {
                entry.machines.push(machine.name.clone());
                entry.files.extend(files);
            }
            None => self.entries.push(MissingEntry {
                span,
                undeclared: generator.span.is_none(),
                generator: generator.name.clone(),
                shared,
                machines: vec![machine.name.clone()],
                files,
            }),
        }
    }

    fn report(self, out: &mut Vec<Diagnostic>) {
        let (undeclared, declared): (Vec<_>, Vec<_>) =
            self.entries.into_iter().partition(|e| e.undeclared);
        Self::report_undeclared(undeclared, out);
        for entry in declared {
            let g = &entry.generator;
            let (where_, command) = if entry.shared {
                (
                    format!("`vars/shared/{g}/`"),
                    "clanc vars generate".to_string(),
                )
            } else if entry.machines.len() == 1 {
                let m = &entry.machines[0];
                (
                    format!("`vars/per-machine/{m}/{g}/`"),
                    format!("clanc vars generate --machine {m}"),
                )
            } else {
                (
                    format!(
                        "`vars/per-machine/<m>/{g}/` for the machines {}",
                        list_names(&entry.machines)
                    ),
                    "clanc vars generate".to_string(),
                )
            };
            out.push(
                Diagnostic::warning(
                    Code::V003,
                    format!(
                        "vars generator `{g}` has not been run yet: expected {} under {where_}, found none",
                        list_names(&entry.files)
                    ),
                    entry.span,
                )
                .with_help(format!(
                    "run `{command}` to create the files (otherwise the next deploy stops to generate them)"
                )),
            );
        }
    }

    /// Generators of code outside the clan (clan-core's services), one diagnostic per machine
    /// at the machine's definition.
    fn report_undeclared(entries: Vec<MissingEntry>, out: &mut Vec<Diagnostic>) {
        let mut by_span: Vec<(Span, Vec<MissingEntry>)> = Vec::new();
        for entry in entries {
            match by_span.iter_mut().find(|(span, _)| *span == entry.span) {
                Some((_, group)) => group.push(entry),
                None => by_span.push((entry.span.clone(), vec![entry])),
            }
        }
        for (span, group) in by_span {
            let machines: BTreeSet<&String> = group.iter().flat_map(|e| &e.machines).collect();
            let paths: Vec<String> = group
                .iter()
                .map(|e| {
                    let dir = if e.shared {
                        format!("vars/shared/{}", e.generator)
                    } else {
                        format!("vars/per-machine/{}/{}", e.machines.join(","), e.generator)
                    };
                    format!("`{dir}/` ({})", list_names(&e.files))
                })
                .collect();
            let names = list_names(group.iter().map(|e| e.generator.as_str()));
            let command = match machines.iter().next() {
                Some(m) if machines.len() == 1 => format!("clanc vars generate --machine {m}"),
                _ => "clanc vars generate".to_string(),
            };
            out.push(
                Diagnostic::warning(
                    Code::V003,
                    format!(
                        "{} {names} that clan-core and the machine's services give it {} not been run yet: expected {}, found none",
                        if group.len() == 1 { "the vars generator" } else { "the vars generators" },
                        if group.len() == 1 { "has" } else { "have" },
                        paths.join(", ")
                    ),
                    span,
                )
                .with_help(format!(
                    "run `{command}` to create the files (otherwise the next deploy stops to generate them)"
                )),
            );
        }
    }
}

/// V005: a deployed secret of a machine that is not encrypted for that machine (no
/// `machines/<m>` recipient beside it), so sops-nix on the machine cannot decrypt it.
fn secrets_for_machines(clan: &Clan, listing: &VarsListing, out: &mut Vec<Diagnostic>) {
    for ((m, g, f), recipients) in &listing.secrets {
        let Some(machine) = clan.machines.get(m) else {
            continue;
        };
        let Some(file) = machine
            .generators
            .get(g)
            .and_then(|generator| generator.files.get(f))
        else {
            continue;
        };
        if !decrypted_on_machine(file) {
            continue;
        }
        if recipients.contains(m) {
            continue;
        }
        out.push(
            Diagnostic::error(
                Code::V005,
                format!(
                    "the secret `{g}/{f}` of machine `{m}` is deployed to `{m}` but not encrypted for it: there is no `machines/{m}` recipient beside it, so sops-nix on `{m}` cannot decrypt it"
                ),
                path_span(format!("vars/per-machine/{m}/{g}/{f}/secret")),
            )
            .with_help(format!(
                "regenerate it (`clanc vars generate --machine {m} --regenerate`) or add the machine as a recipient (`clan secrets machines add-secret`)"
            )),
        );
    }
}

/// Whether sops-nix on the machine decrypts the file with the machine's key: a deployed secret
/// needed for `users` or `services`. clan decrypts `activation` and `partitioning` secrets on
/// the admin's side and uploads them, so the machine's key never has to open those. A value
/// the model does not know is not known to be decrypted there.
fn decrypted_on_machine(file: &VarFile) -> bool {
    file.deploy == Known::Known(true)
        && file.secret == Known::Known(true)
        && matches!(
            &file.needed_for.value,
            Known::Known(n) if matches!(NeededFor::parse(n), Some(NeededFor::Users | NeededFor::Services))
        )
}

/// The file `<g>/<f>` as machine `m` declares it (per-machine or shared).
fn declared_file<'a>(clan: &'a Clan, m: &str, g: &str, f: &str) -> Option<&'a VarFile> {
    clan.machines.get(m)?.generators.get(g)?.files.get(f)
}

/// V005 from the sops files themselves: a secret with a `users/<u>` (or `machines/<m>`) link
/// whose sops file lacks that user's (machine's) age key among its recipients: the key was
/// added or changed after the secret was encrypted, and that user (machine) cannot open it.
/// A machine's link counts only where the machine is known to decrypt the secret (it declares
/// the generator and deploys the file for sops-nix): a stale link of a generator the machine
/// no longer has, or one the model cannot see, breaks nothing.
fn stale_recipients(clan: &Clan, facts: &SopsFacts, out: &mut Vec<Diagnostic>) {
    for (dir, secret) in &facts.secrets {
        let Some(recipients) = &secret.recipients else {
            continue;
        };
        let lacking = |keys: Option<&Vec<String>>| {
            keys.is_some_and(|keys| {
                !keys.is_empty() && !keys.iter().any(|k| recipients.contains(k))
            })
        };
        let var = dir
            .strip_prefix("vars/per-machine/")
            .or_else(|| dir.strip_prefix("vars/shared/"))
            .unwrap_or(dir);
        for (kind, names, keys) in [
            ("user", &secret.users, &facts.user_keys),
            ("machine", &secret.machines, &facts.machine_keys),
        ] {
            for name in names {
                if !lacking(keys.get(name)) {
                    continue;
                }
                if kind == "machine" {
                    let mut parts = var.split('/');
                    let file = if dir.starts_with("vars/shared/") {
                        match (parts.next(), parts.next()) {
                            (Some(g), Some(f)) => declared_file(clan, name, g, f),
                            _ => None,
                        }
                    } else {
                        match (parts.next(), parts.next(), parts.next()) {
                            (Some(m), Some(g), Some(f)) if m == name => {
                                declared_file(clan, name, g, f)
                            }
                            _ => None,
                        }
                    };
                    if !file.is_some_and(decrypted_on_machine) {
                        continue;
                    }
                }
                let plural = if kind == "user" { "users" } else { "machines" };
                out.push(
                    Diagnostic::error(
                        Code::V005,
                        format!(
                            "the secret `{var}` is linked to the {kind} `{name}` but not encrypted for its key (`sops/{plural}/{name}/key.json`): `{name}` cannot decrypt it"
                        ),
                        path_span(format!("{dir}/secret")),
                    )
                    .with_help(
                        "re-encrypt it for its current recipients (`clan vars fix`, or regenerate it with `clanc vars generate --regenerate`)",
                    ),
                );
            }
        }
    }
}

/// V007: a shared generator (`share = true`) whose declarations on two machines differ in
/// their files, prompts, dependencies or script. Only one of them produces
/// `vars/shared/<g>/`, so the other machine gets files it did not ask for.
fn shared_declared_differently(clan: &Clan, out: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<&str, (&Machine, &Generator)> = BTreeMap::new();
    for machine in clan.machines.values() {
        for generator in machine.generators.values() {
            if generator.share != Known::Known(true) {
                continue;
            }
            let Some((other_machine, other)) = first.get(generator.name.as_str()).copied() else {
                first.insert(&generator.name, (machine, generator));
                continue;
            };
            if other.span.is_some() && other.span == generator.span {
                continue; // one declaration, imported by both
            }
            let Some(what) = shared_difference(other, generator) else {
                continue;
            };
            let Some(span) = first_span(&[generator.span.as_ref(), machine.span.as_ref()]) else {
                continue;
            };
            let mut d = Diagnostic::error(
                Code::V007,
                format!(
                    "the shared vars generator `{}` is declared differently on `{}` and `{}`: {what}; expected one declaration for every machine",
                    generator.name, other_machine.name, machine.name
                ),
                span,
            )
            .with_help(
                "declare the shared generator once, in a module both machines import, or give the two generators different names",
            );
            if let Some(other_span) = &other.span {
                d.labels.push(crate::diagnostics::Label {
                    span: other_span.clone(),
                    message: format!("declared for `{}` here", other_machine.name),
                });
            }
            out.push(d);
        }
    }
}

/// What differs between two declarations of a generator (known values only).
fn shared_difference(a: &Generator, b: &Generator) -> Option<String> {
    let file_names = |g: &Generator| g.files.keys().cloned().collect::<Vec<_>>();
    if file_names(a) != file_names(b) {
        return Some(format!(
            "files {} and {}",
            list_names(a.files.keys()),
            list_names(b.files.keys())
        ));
    }
    for (name, fa) in &a.files {
        let fb = &b.files[name];
        let differs = |x: &Known<bool>, y: &Known<bool>| matches!((x, y), (Known::Known(x), Known::Known(y)) if x != y);
        if differs(&fa.secret, &fb.secret) {
            return Some(format!(
                "the file `{name}` is secret on one and public on the other"
            ));
        }
        if differs(&fa.deploy, &fb.deploy) {
            return Some(format!("the file `{name}` is deployed on one only"));
        }
    }
    let prompt_names = |g: &Generator| g.prompts.keys().cloned().collect::<Vec<_>>();
    if prompt_names(a) != prompt_names(b) {
        return Some(format!(
            "prompts {} and {}",
            list_names(a.prompts.keys()),
            list_names(b.prompts.keys())
        ));
    }
    for (name, pa) in &a.prompts {
        let pb = &b.prompts[name];
        if let (Known::Known(x), Known::Known(y)) = (&pa.kind.value, &pb.kind.value)
            && x != y
        {
            return Some(format!("the prompt `{name}` is \"{x}\" and \"{y}\""));
        }
    }
    if let (Known::Known(x), Known::Known(y)) = (&a.dependencies, &b.dependencies) {
        let names =
            |d: &Vec<Spanned<String>>| d.iter().map(|s| s.value.clone()).collect::<BTreeSet<_>>();
        if names(x) != names(y) {
            return Some(format!(
                "dependencies {} and {}",
                list_names(names(x).iter()),
                list_names(names(y).iter())
            ));
        }
    }
    if let (Known::Known(x), Known::Known(y)) = (&a.script.value, &b.script.value)
        && x.trim() != y.trim()
    {
        return Some("their scripts differ".to_string());
    }
    None
}

#[cfg(test)]
mod tests;
