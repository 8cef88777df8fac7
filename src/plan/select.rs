//! What a plan covers: the goal (`switch`, `boot`, `test`, `dry-activate`, `build`, `push`)
//! and the machines `--on` selects (`grammar/selector.ebnf`), with tags as clan computes them.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Clan;
use crate::model::machine_selector::{Candidate, MachineSelector, Term};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Goal {
    Switch,
    Boot,
    Test,
    DryActivate,
    Build,
    Push,
}

impl Goal {
    pub const ALL: [Goal; 6] = [
        Goal::Switch,
        Goal::Boot,
        Goal::Test,
        Goal::DryActivate,
        Goal::Build,
        Goal::Push,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Goal::Switch => "switch",
            Goal::Boot => "boot",
            Goal::Test => "test",
            Goal::DryActivate => "dry-activate",
            Goal::Build => "build",
            Goal::Push => "push",
        }
    }

    pub fn parse(text: &str) -> Option<Goal> {
        Goal::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// Everything but `build` talks to the target.
    pub fn needs_target(self) -> bool {
        self != Goal::Build
    }

    /// The goals that run `switch-to-configuration` (or darwin's `activate`).
    pub fn activates(self) -> bool {
        matches!(
            self,
            Goal::Switch | Goal::Boot | Goal::Test | Goal::DryActivate
        )
    }

    /// `switch` and `boot` make the new system the profile's current generation.
    pub fn sets_profile(self) -> bool {
        matches!(self, Goal::Switch | Goal::Boot)
    }

    /// Secrets go up before a real activation (not for `dry-activate`).
    pub fn uploads_secrets(self) -> bool {
        matches!(self, Goal::Switch | Goal::Boot | Goal::Test)
    }

    /// After a live activation, a fresh ssh login must work (magic rollback).
    pub fn confirms(self) -> bool {
        matches!(self, Goal::Switch | Goal::Test)
    }
}

/// Every tag each machine carries: its own, `inventory.tags` entries and the computed
/// `all`/`nixos`/`darwin` (members that are unknown contribute nothing).
pub fn machine_tags(clan: &Clan) -> BTreeMap<&str, Vec<String>> {
    let mut tags: BTreeMap<&str, Vec<String>> = clan
        .machines
        .values()
        .map(|m| {
            (
                m.name.as_str(),
                m.tags.iter().map(|t| t.value.clone()).collect(),
            )
        })
        .collect();
    for tag in clan.tags.values() {
        for member in tag.members.known().into_iter().flatten() {
            if let Some(list) = tags.get_mut(member.as_str())
                && !list.contains(&tag.name)
            {
                list.push(tag.name.clone());
            }
        }
    }
    tags
}

/// The machines a selector picks (every machine without one) and its terms that matched none.
pub fn select_machines(
    clan: &Clan,
    selector: Option<&MachineSelector>,
) -> (BTreeSet<String>, Vec<Term>) {
    let Some(selector) = selector else {
        return (clan.machines.keys().cloned().collect(), Vec::new());
    };
    let tags = machine_tags(clan);
    let candidates: Vec<Candidate> = tags
        .iter()
        .map(|(name, tags)| Candidate { name, tags })
        .collect();
    let selection = selector.select(&candidates);
    (selection.machines, selection.unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_round_trip_and_say_what_they_do() {
        for goal in Goal::ALL {
            assert_eq!(Goal::parse(goal.as_str()), Some(goal));
        }
        assert_eq!(Goal::parse("deploy"), None);
        assert!(!Goal::Build.needs_target() && Goal::Push.needs_target());
        assert!(!Goal::Push.activates() && Goal::DryActivate.activates());
        assert!(Goal::Boot.sets_profile() && !Goal::Test.sets_profile());
        assert!(!Goal::DryActivate.uploads_secrets() && Goal::Test.uploads_secrets());
        assert!(Goal::Test.confirms() && !Goal::Boot.confirms());
    }
}
