//! Why a machine has the roles it has (`clanc inventory --why`, the language server's hover on
//! a machine): for every role of every instance, the definitions that make the machine a
//! member, as clan-core resolves roles ([`super::Clan::resolve_tags`]): a
//! `roles.<r>.machines.<m>` entry, or a tag the role names together with where the machine got
//! that tag (its own `tags`, an `inventory.tags` list, the computed `all`, `nixos`, `darwin`).
//!
//! A membership is claimed only when it is certain. When the model cannot know whether the
//! machine is a member (a tag whose list is unknown, a role whose `machines` or `tags` could not
//! be evaluated, a machine some of whose tags are unknown) the role is listed with the reason,
//! never left out. Plain data with spans: the callers turn spans into lines.

use rnix::{TextRange, TextSize};

use super::clan::{Clan, Instance, Known, MachineClass, Role};
use crate::diagnostics::Span;

/// The explanation for one machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Why {
    pub machine: String,
    /// Where the machine is defined; `None` when no inventory source defines it (a role may
    /// still name it).
    pub defined: Option<Option<Span>>,
    pub class: Option<Known<MachineClass>>,
    /// Why the list of roles may be incomplete as a whole (the clan or its set of instances
    /// could not be read, or the machine may be one the model could not name).
    pub incomplete: Option<String>,
    /// Every tag the machine certainly has, with where it got it (sorted by name).
    pub tags: Vec<TagWhy>,
    /// Why the machine may have tags beyond [`Why::tags`].
    pub tags_unknown: Option<String>,
    /// Every role the machine has or may have, by instance then role name.
    pub roles: Vec<RoleWhy>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TagWhy {
    pub tag: String,
    /// Never empty.
    pub sources: Vec<TagSource>,
}

/// Where a machine got a tag.
#[derive(Clone, Debug, PartialEq)]
pub enum TagSource {
    /// An element of the machine's own `tags` (`inventory.machines.<m>.tags`, in Nix or in
    /// `inventory.json`).
    Own(Option<Span>),
    /// The tag's `inventory.tags.<t>` entry (list or function form) lists the machine.
    Listed(Option<Span>),
    /// The computed `all`: every machine (the span is the machine's definition).
    All(Option<Span>),
    /// The computed `nixos` or `darwin`: the machine's class (the span is its
    /// `machineClass` definition, `None` for the default `nixos`).
    Class(MachineClass, Option<Span>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoleWhy {
    pub instance: String,
    pub role: String,
    /// `module.name`, prefixed with `module.input/` when set (`?` for what is unknown).
    pub service: String,
    pub membership: Membership,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Membership {
    /// The machine is a member, for each of these reasons (never empty).
    Certain(Vec<Reason>),
    /// The model cannot know whether the machine is a member, for this reason.
    Unknown(String),
}

/// One definition that puts the machine in a role.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// The role's `machines.<m>` entry (its key).
    Named(Option<Span>),
    /// A tag the role names (the span is that name in the role's `tags`), which the machine
    /// has.
    Tag {
        tag: String,
        span: Option<Span>,
        sources: Vec<TagSource>,
    },
}

/// Whether the machine has a tag: yes (from where), maybe (why unknown), or no.
enum Has {
    Yes(Vec<TagSource>),
    Maybe(String),
    No,
}

/// An instance's service as `input/name` (`name` alone for clan-core's own, the default).
pub fn service_label(instance: &Instance) -> String {
    let name = match &instance.module_name.value {
        Known::Known(name) => name.as_str(),
        Known::Unknown(_) => "?",
    };
    match instance.module_input.as_ref().map(|i| &i.value) {
        Some(Known::Known(input)) => format!("{input}/{name}"),
        Some(Known::Unknown(_)) => format!("?/{name}"),
        None => name.to_string(),
    }
}

/// Where `inventory.json` holds what a span of the model points at: the model reads that file
/// through `fromJSON`, which keeps no positions, so some of its definitions (a machine's tags
/// or class, a top-level tag) span the whole text; `keys` then finds the key they are under.
pub fn narrow_json(span: &Span, text: &str, keys: &[&str]) -> TextRange {
    if &*span.file != "inventory.json" || span.range.start() != TextSize::from(0) || keys.is_empty()
    {
        return span.range;
    }
    super::json_locate::locate_key(text, keys).unwrap_or(span.range)
}

/// One source of a tag as a phrase, with the `inventory.json` keys it is under (for
/// [`narrow_json`]); `at` places a span.
pub fn source_text(
    machine: &str,
    tag: &str,
    source: &TagSource,
    at: &mut dyn FnMut(&Option<Span>, &[&str]) -> String,
) -> String {
    match source {
        TagSource::Own(span) => format!(
            "inventory.machines.{machine}.tags at {}",
            at(span, &["machines", machine, "tags"])
        ),
        TagSource::Listed(span) => {
            format!("inventory.tags.{tag} at {}", at(span, &["tags", tag]))
        }
        TagSource::All(span) => format!(
            "built-in `all`: every machine (defined at {})",
            at(span, &[])
        ),
        TagSource::Class(class, None) => format!(
            "built-in `{0}`: machineClass {0} (the default)",
            class.as_str()
        ),
        TagSource::Class(class, span) => format!(
            "built-in `{0}`: machineClass {0} at {1}",
            class.as_str(),
            at(span, &["machines", machine, "machineClass"])
        ),
    }
}

/// The inventory path of what a [`Reason`] names, with where it is.
pub fn reason_text(
    machine: &str,
    instance: &str,
    role: &str,
    reason: &Reason,
    at: &mut dyn FnMut(&Option<Span>, &[&str]) -> String,
) -> String {
    match reason {
        Reason::Named(span) => format!(
            "named: instances.{instance}.roles.{role}.machines.{machine} at {}",
            at(span, &[])
        ),
        Reason::Tag { tag, span, .. } => format!(
            "tag {tag}: instances.{instance}.roles.{role}.tags at {}",
            at(span, &[])
        ),
    }
}

impl Clan {
    /// Why `machine` has the roles it has (see the module documentation).
    pub fn why(&self, machine: &str) -> Why {
        let m = self.machines.get(machine);
        // A name no source defines may be a machine of a source the model could not list:
        // its tags are then unknown, `all` included.
        let unnamed = match m {
            None => (self.unknown_reason())
                .or_else(|| self.machine_names_unknown())
                .map(|reason| format!("some machines are unknown: {reason}")),
            Some(_) => None,
        };
        let tags_unknown = match m {
            Some(m) => m
                .tags_unknown
                .as_ref()
                .map(|reason| format!("some tags of machine `{machine}` are unknown: {reason}")),
            None => unnamed.clone(),
        };
        let incomplete = self
            .unknown_reason()
            .map(|reason| format!("the clan is unknown: {reason}"))
            .or_else(|| {
                self.note_about(&["inventory", "inventory.instances", "instances"])
                    .map(|reason| format!("some instances are unknown: {reason}"))
            })
            .or(unnamed.clone());

        let mut tags = Vec::new();
        let mut names: Vec<&str> = self.tags.keys().map(String::as_str).collect();
        if let Some(m) = m {
            names.extend(m.tags.iter().map(|t| t.value.as_str()));
        }
        names.sort_unstable();
        names.dedup();
        for tag in names {
            if let Has::Yes(sources) = self.has_tag(machine, tag, unnamed.as_deref()) {
                tags.push(TagWhy {
                    tag: tag.to_string(),
                    sources,
                });
            }
        }

        let mut roles = Vec::new();
        for instance in self.instances.values() {
            let service = service_label(instance);
            for role in instance.roles.values() {
                if let Some(membership) = self.membership(machine, role, unnamed.as_deref()) {
                    roles.push(RoleWhy {
                        instance: instance.name.clone(),
                        role: role.name.clone(),
                        service: service.clone(),
                        membership,
                    });
                }
            }
            // Roles the model could not list may hold the machine too.
            let subjects = [
                format!("inventory.instances.{}", instance.name),
                format!("inventory.instances.{}.roles", instance.name),
            ];
            let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
            if let Some(reason) = self.note_about(&subjects) {
                roles.push(RoleWhy {
                    instance: instance.name.clone(),
                    role: "?".to_string(),
                    service: service.clone(),
                    membership: Membership::Unknown(format!(
                        "some roles of the instance are unknown: {reason}"
                    )),
                });
            }
        }
        Why {
            machine: machine.to_string(),
            defined: m.map(|m| m.span.clone()),
            class: m.map(|m| m.class.value.clone()),
            incomplete,
            tags,
            tags_unknown,
            roles,
        }
    }

    /// The reason of the first unknown note about one of `subjects`.
    fn note_about(&self, subjects: &[&str]) -> Option<&str> {
        (self.unknowns.iter())
            .find(|note| subjects.contains(&note.subject.as_str()))
            .map(|note| note.reason.as_str())
    }

    /// Whether `machine` has `tag`, as [`Clan::resolve_tags`] computes tag members: the
    /// machines carrying the tag plus those `inventory.tags` lists.
    fn has_tag(&self, machine: &str, tag: &str, unnamed: Option<&str>) -> Has {
        let m = self.machines.get(machine);
        let mut sources = Vec::new();
        let mut maybe = None;
        let entry = self.tags.get(tag);
        let listed = match entry.and_then(|t| t.listed.as_ref()) {
            Some(Known::Known(listed)) => listed.iter().any(|n| n == machine),
            Some(Known::Unknown(reason)) => {
                maybe = Some(reason.clone());
                false
            }
            None => false,
        };
        // clanc's clan-core copies the `inventory.tags` lists naming a machine into its tags,
        // without a span: such a copy is the list, not a tag of the machine's own.
        if let Some(own) = m.and_then(|m| m.tags.iter().find(|t| t.value == tag))
            && (own.span.is_some() || !listed)
        {
            sources.push(TagSource::Own(own.span.clone()));
        }
        if listed {
            let span = entry.and_then(|t| t.span.clone());
            sources.push(match (entry.is_some_and(|t| t.computed), tag, m) {
                (true, "all", Some(m)) => TagSource::All(m.span.clone()),
                (true, "nixos" | "darwin", Some(m)) => match &m.class.value {
                    Known::Known(class) => TagSource::Class(*class, m.class.span.clone()),
                    Known::Unknown(_) => TagSource::Listed(span),
                },
                _ => TagSource::Listed(span),
            });
        }
        if !sources.is_empty() {
            return Has::Yes(sources);
        }
        // The machine's own tags that are unknown may hold any tag but `all` (which holds every
        // machine the model can name); a machine the model could not name, any tag.
        if let Some(reason) = unnamed {
            return Has::Maybe(format!("some machines are unknown: {reason}"));
        }
        if let Some(reason) = m.and_then(|m| m.tags_unknown.as_ref())
            && tag != "all"
        {
            return Has::Maybe(format!(
                "some tags of machine `{machine}` are unknown: {reason}"
            ));
        }
        match maybe {
            Some(reason) => Has::Maybe(format!("the members of tag `{tag}` are unknown: {reason}")),
            None => Has::No,
        }
    }

    /// Whether and why `machine` is a member of `role`; `None` when it certainly is not.
    fn membership(&self, machine: &str, role: &Role, unnamed: Option<&str>) -> Option<Membership> {
        let mut reasons = Vec::new();
        let mut unknown = None;
        if let Some(entry) = role.machines.get(machine) {
            reasons.push(Reason::Named(entry.span.clone()));
        }
        for tag in &role.tags {
            match self.has_tag(machine, &tag.value, unnamed) {
                Has::Yes(sources) => reasons.push(Reason::Tag {
                    tag: tag.value.clone(),
                    span: tag.span.clone(),
                    sources,
                }),
                Has::Maybe(reason) => {
                    unknown.get_or_insert(reason);
                }
                Has::No => {}
            }
        }
        if !reasons.is_empty() {
            return Some(Membership::Certain(reasons));
        }
        let unknown = (role.machines_unknown.as_ref())
            .map(|reason| format!("the role's `machines` are unknown: {reason}"))
            .or_else(|| {
                (role.tags_unknown.as_ref())
                    .map(|reason| format!("the role's `tags` are unknown: {reason}"))
            })
            .or(unknown);
        unknown.map(Membership::Unknown)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::{Machine, RoleMachine, Spanned, Tag};

    fn span(at: u32) -> Option<Span> {
        Some(Span::new(
            "clan.nix",
            TextRange::at(TextSize::from(at), TextSize::from(1)),
        ))
    }

    fn machine(name: &str, tags: &[(&str, Option<Span>)]) -> Machine {
        Machine {
            tags: tags
                .iter()
                .map(|(t, s)| Spanned::new(t.to_string(), s.clone()))
                .collect(),
            ..Machine::new(
                name.to_string(),
                span(1),
                Spanned::new(Known::Known(MachineClass::Nixos), None),
            )
        }
    }

    fn role(name: &str, machines: &[&str], tags: &[&str]) -> Role {
        Role {
            name: name.to_string(),
            span: None,
            machines: machines
                .iter()
                .map(|m| {
                    let entry = RoleMachine {
                        name: m.to_string(),
                        span: span(50),
                        settings: None,
                    };
                    (m.to_string(), entry)
                })
                .collect(),
            tags: tags
                .iter()
                .map(|t| Spanned::new(t.to_string(), span(60)))
                .collect(),
            tags_unknown: None,
            machines_unknown: None,
            settings: None,
            extra_modules: Vec::new(),
            resolved: Known::Unknown("not resolved".into()),
        }
    }

    fn clan(machines: Vec<Machine>, roles: Vec<Role>) -> Clan {
        let mut clan = Clan::default();
        for m in machines {
            clan.machines.insert(m.name.clone(), m);
        }
        let names: Vec<String> = clan.machines.keys().cloned().collect();
        for (name, listed) in [
            ("all", Known::Known(names)),
            ("nixos", Known::Known(vec![])),
        ] {
            clan.tags.insert(
                name.to_string(),
                Tag {
                    name: name.to_string(),
                    members: Known::Known(Vec::new()),
                    listed: Some(listed),
                    span: None,
                    computed: true,
                },
            );
        }
        clan.instances.insert(
            "i".to_string(),
            Instance {
                name: "i".to_string(),
                span: None,
                module_name: Spanned::new(Known::Known("svc".into()), None),
                module_name_defaulted: false,
                module_input: None,
                roles: roles.into_iter().map(|r| (r.name.clone(), r)).collect(),
            },
        );
        let _ = clan.resolve_tags();
        clan
    }

    #[test]
    fn a_named_machine_and_an_own_tag_are_both_reasons() {
        let clan = clan(
            vec![machine("a", &[("web", span(10))]), machine("b", &[])],
            vec![
                role("server", &["a"], &["web"]),
                role("client", &[], &["web"]),
            ],
        );
        let why = clan.why("a");
        assert_eq!(why.roles.len(), 2, "{why:?}");
        let client = &why.roles[0];
        assert_eq!(client.role, "client");
        assert_eq!(
            client.membership,
            Membership::Certain(vec![Reason::Tag {
                tag: "web".into(),
                span: span(60),
                sources: vec![TagSource::Own(span(10))],
            }])
        );
        let Membership::Certain(reasons) = &why.roles[1].membership else {
            panic!("{why:?}")
        };
        assert_eq!(reasons[0], Reason::Named(span(50)));
        // b has neither: no role at all
        assert!(clan.why("b").roles.is_empty());
    }

    #[test]
    fn unknown_tags_of_the_machine_make_a_tagged_role_unknown_but_not_all() {
        let mut a = machine("a", &[]);
        a.tags_unknown = Some("input `x` is not modelled".into());
        let clan = clan(
            vec![a],
            vec![role("server", &[], &["web"]), role("peer", &[], &["all"])],
        );
        let why = clan.why("a");
        assert_eq!(why.roles.len(), 2, "{why:?}");
        assert!(
            matches!(&why.roles[0].membership, Membership::Certain(r)
                if r == &[Reason::Tag { tag: "all".into(), span: span(60), sources: vec![TagSource::All(span(1))] }]),
            "{why:?}"
        );
        assert!(
            matches!(&why.roles[1].membership, Membership::Unknown(r) if r.contains("input `x`")),
            "{why:?}"
        );
    }
}
