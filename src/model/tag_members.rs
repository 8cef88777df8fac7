//! What the model's tags resolve to: the members of every tag (the machines `inventory.tags`
//! lists plus those carrying the tag) and the machines of every role (those it names plus the
//! members of its tags), as clan-core resolves them.
//!
//! Computed from the model's own values, not by the evaluation, so that an edit replacing the
//! model's copies of tag literals ([`super::Spanned::literal`]) only needs this run again:
//! renaming a machine's tag in the editor does not evaluate the clan again.

use std::collections::{BTreeMap, BTreeSet};

use super::clan::{Clan, Known, Spanned, Tag};
use crate::diagnostics::Span;

impl Clan {
    /// Makes every machine's and role's tags unique (the first of equal names stays), then
    /// computes [`Tag::members`] (adding the tags only machines carry, dropping those no
    /// machine carries any more) and [`super::Role::resolved`].
    ///
    /// Returns whether a name copied from a literal was dropped (an edit made two names
    /// equal): the model then no longer holds that copy, and a later edit of its literal could
    /// not be applied, so the caller must not keep this model as the evaluation's.
    #[must_use]
    pub fn resolve_tags(&mut self) -> bool {
        let mut dropped_copy = false;
        for machine in self.machines.values_mut() {
            dropped_copy |= keep_first_of_each(&mut machine.tags);
        }
        // Machine names are borrowed while sets are built (fleets have hundreds of machines
        // and roles on `all`): owned copies only for the results.
        let mut carried: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for machine in self.machines.values() {
            for tag in &machine.tags {
                carried.entry(&tag.value).or_default().push(&machine.name);
            }
        }
        // A machine some of whose tags are unknown may carry any tag (`all` has every machine);
        // a machine the model could not name may carry any tag, `all` included.
        let unnamed = (self.machine_names_unknown())
            .map(|reason| format!("some machines are unknown: {reason}"));
        let unknown_carrier = self.machines.values().find_map(|m| {
            let reason = m.tags_unknown.as_ref()?;
            Some(format!(
                "some tags of machine `{}` are unknown: {reason}",
                m.name
            ))
        });
        let maybe_carried = |tag: &str| match (&unnamed, &unknown_carrier) {
            (Some(reason), _) => Some(reason.clone()),
            (None, Some(reason)) if tag != "all" => Some(reason.clone()),
            _ => None,
        };
        self.tags.retain(|_, tag| tag.listed.is_some());
        for tag in self.tags.values_mut() {
            let carriers = carried.remove(tag.name.as_str()).unwrap_or_default();
            if let Some(reason) = maybe_carried(&tag.name) {
                tag.members = Known::Unknown(reason);
                continue;
            }
            tag.members = match &tag.listed {
                Some(Known::Known(listed)) => Known::Known(sorted_unique(
                    carriers
                        .into_iter()
                        .chain(listed.iter().map(String::as_str)),
                )),
                Some(Known::Unknown(reason)) => Known::Unknown(reason.clone()),
                None => Known::Known(sorted_unique(carriers)),
            };
        }
        for (name, machines) in carried {
            let members = match maybe_carried(name) {
                Some(reason) => Known::Unknown(reason),
                None => Known::Known(sorted_unique(machines)),
            };
            self.tags.insert(
                name.to_string(),
                Tag {
                    name: name.to_string(),
                    members,
                    listed: None,
                    span: None,
                    computed: false,
                },
            );
        }
        let tags = &self.tags;
        for role in self
            .instances
            .values_mut()
            .flat_map(|i| i.roles.values_mut())
        {
            dropped_copy |= keep_first_of_each(&mut role.tags);
            let mut machines: Vec<&str> = role.machines.keys().map(String::as_str).collect();
            let mut unknown = role.tags_unknown.clone().or(role.machines_unknown.clone());
            for tag in &role.tags {
                if unknown.is_some() {
                    break;
                }
                match tags.get(&tag.value).map(|t| &t.members) {
                    Some(Known::Known(members)) => {
                        machines.extend(members.iter().map(String::as_str))
                    }
                    Some(Known::Unknown(reason)) => unknown = Some(reason.clone()),
                    // No machine carries it, unless one whose tags are unknown does.
                    None => unknown = maybe_carried(&tag.value),
                }
            }
            role.resolved = match unknown {
                Some(reason) => Known::Unknown(reason),
                None => Known::Known(sorted_unique(machines)),
            };
        }
        dropped_copy
    }

    /// Whether any of `literals` is one a machine's or role's tag was copied from: what
    /// [`Clan::resolve_tags`] computes may then change when those literals do.
    pub fn tags_copy_any<'a>(&self, mut literals: impl Iterator<Item = &'a Span>) -> bool {
        let copies: Vec<&Span> = (self.machines.values().flat_map(|m| &m.tags))
            .chain(
                (self.instances.values())
                    .flat_map(|i| i.roles.values())
                    .flat_map(|r| &r.tags),
            )
            .filter_map(|tag| tag.literal.as_ref())
            .collect();
        literals.any(|literal| copies.contains(&literal))
    }
}

impl Clan {
    /// Whether any of these literals is copied into an instance's module name or input (which
    /// decide where a machine's services come from).
    pub fn instance_modules_copy_any<'a>(
        &self,
        mut literals: impl Iterator<Item = &'a Span>,
    ) -> bool {
        let copies: Vec<&Span> = (self.instances.values())
            .flat_map(|i| [Some(&i.module_name), i.module_input.as_ref()])
            .flatten()
            .filter_map(|m| m.literal.as_ref())
            .collect();
        literals.any(|literal| copies.contains(&literal))
    }
}

/// The names sorted, each once, as owned strings.
fn sorted_unique<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(str::to_string).collect()
}

/// Drops every name equal to an earlier one; whether one of them was a copy of a literal.
fn keep_first_of_each(names: &mut Vec<Spanned<String>>) -> bool {
    let mut seen = BTreeSet::new();
    let mut dropped_copy = false;
    names.retain(|name| {
        let first = seen.insert(name.value.clone());
        dropped_copy |= !first && name.literal.is_some();
        first
    });
    dropped_copy
}
