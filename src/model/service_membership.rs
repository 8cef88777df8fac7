//! Which services give a machine modules, and where their code comes from: a pure function of
//! the model ([`Clan::machine_services`]), so that the reasons a machine's generators are
//! partial follow every edit of the model, and an edit that changes what is evaluated can be
//! told from one that does not (`analysis::moved_model`).

use std::collections::BTreeSet;

use super::clan::{Clan, Instance, Known, Machine};

/// Built-in services known to give machines no vars generators: a machine in their instances
/// needs no clan-core source for its generators to be known.
pub const SERVICES_WITHOUT_VARS: &[&str] = &["packages", "trusted-nix-caches"];

/// clan-core's default for `module.input` changed on 2025-06-30 (the flake's own modules
/// before, clan-core's since); between these commit times (a day of margin) it is uncertain.
const LOCAL_DEFAULT_UNTIL: i64 = 1_751_155_200; // 2025-06-29T00:00Z
const CLAN_CORE_DEFAULT_SINCE: i64 = 1_751_328_000; // 2025-07-01T00:00Z

/// Where an instance without `module.input` takes its service from, by the commit time of
/// the pinned clan-core (`flake.lock`'s `lastModified`; unknown counts as recent): `None` on
/// the day the default changed.
pub fn default_service_source(pin_time: Option<i64>) -> Option<ServiceSource> {
    match pin_time {
        Some(t) if t < LOCAL_DEFAULT_UNTIL => Some(ServiceSource::Flake),
        Some(t) if t < CLAN_CORE_DEFAULT_SINCE => None,
        _ => Some(ServiceSource::ClanCore),
    }
}

/// Where the code of services comes from, as read when the model was built.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceSources {
    /// The directory of clan-core's locked source, when it is on this machine.
    pub clan_core_dir: Option<String>,
    /// Why it is not (set when `clan_core_dir` is `None`).
    pub clan_core_missing: String,
    /// The service directories under `clanServices/` of that source.
    pub clan_core_services: BTreeSet<String>,
    /// The flake's inputs recognised as clan-core.
    pub clan_core_inputs: Vec<String>,
}

/// Where an instance's service comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceSource {
    /// This flake's `clan.modules.<name>`.
    Flake,
    /// clan-core's `clanServices/<name>`.
    ClanCore,
}

/// One instance a machine takes part in whose service clanc can evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    pub instance: String,
    pub source: ServiceSource,
    /// Every role of the instance with its resolved machines.
    pub roles: Vec<(String, Vec<String>)>,
}

/// What the services of a machine's instances give it: the instances clanc can evaluate, and
/// why the rest cannot be known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MachineServices {
    pub memberships: Vec<Membership>,
    pub partial: Option<String>,
}

impl Clan {
    /// The instances `machine` takes part in, and where their services come from.
    pub fn machine_services(&self, machine: &str) -> MachineServices {
        let mut memberships = Vec::new();
        let mut partial = None;
        for instance in self.instances.values() {
            let mut roles: Vec<(&String, &Vec<String>)> = Vec::new();
            let mut member = false;
            let mut unresolved = None;
            for role in instance.roles.values() {
                match &role.resolved {
                    // Sorted (`Role::resolved`).
                    Known::Known(machines) => {
                        member |= machines
                            .binary_search_by(|m| m.as_str().cmp(machine))
                            .is_ok();
                        roles.push((&role.name, machines));
                    }
                    Known::Unknown(reason) => {
                        member = true;
                        unresolved.get_or_insert_with(|| {
                            format!("the machines of role `{}` are unknown: {reason}", role.name)
                        });
                    }
                }
                member |= role.machines.contains_key(machine);
            }
            if !member {
                continue;
            }
            let why = |what: String| format!("instance `{}`: {what}", instance.name);
            if let Some(reason) = unresolved {
                partial.get_or_insert_with(|| why(reason));
                continue;
            }
            let Known::Known(module_name) = &instance.module_name.value else {
                partial.get_or_insert_with(|| why("its module's name is unknown".into()));
                continue;
            };
            let source = match self.service_source(instance) {
                Ok(source) => source,
                Err(reason) => {
                    partial.get_or_insert_with(|| why(reason));
                    continue;
                }
            };
            let readable = match source {
                ServiceSource::ClanCore => match &self.service_sources.clan_core_dir {
                    None if SERVICES_WITHOUT_VARS.contains(&module_name.as_str()) => continue,
                    None => Err(format!(
                        "clan-core's service `{module_name}` is not read: {}",
                        self.service_sources.clan_core_missing
                    )),
                    Some(_)
                        if self
                            .service_sources
                            .clan_core_services
                            .contains(module_name) =>
                    {
                        Ok(())
                    }
                    Some(_) => Err(format!("clan-core has no `clanServices/{module_name}`")),
                },
                ServiceSource::Flake => {
                    let known = (self.flake_services.get(module_name))
                        .is_some_and(|s| matches!(s.service, Known::Known(_)));
                    if known {
                        Ok(())
                    } else {
                        Err(format!("the flake's service `{module_name}` is unknown"))
                    }
                }
            };
            match readable {
                Ok(()) => memberships.push(Membership {
                    instance: instance.name.clone(),
                    source,
                    roles: (roles.into_iter())
                        .map(|(r, ms)| (r.clone(), ms.clone()))
                        .collect(),
                }),
                Err(reason) => {
                    partial.get_or_insert_with(|| why(reason));
                }
            }
        }
        MachineServices {
            memberships,
            partial,
        }
    }

    /// Why the machine's generators may be incomplete: a service of its instances that clanc
    /// could not read or evaluate.
    pub fn generators_partial(&self, machine: &Machine) -> Option<String> {
        (machine.services_failed.clone()).or_else(|| self.machine_services(&machine.name).partial)
    }

    /// Why clan-core's own NixOS modules (which give every machine a few generators, such as
    /// `state-version`) were not read: its locked source is not on this machine.
    pub fn clan_core_modules_unread(&self) -> Option<&str> {
        match &self.service_sources.clan_core_dir {
            Some(_) => None,
            None => Some(&self.service_sources.clan_core_missing),
        }
    }

    /// Whether an edit changed which instances' services would be evaluated for some machine
    /// (what [`Machine::distributed`] holds).
    pub fn distribution_changed(&self) -> bool {
        self.machines.values().any(|m| {
            let now = self.machine_services(&m.name).memberships;
            !now.iter().map(|s| &s.instance).eq(m.distributed.iter())
        })
    }

    fn service_source(&self, instance: &Instance) -> Result<ServiceSource, String> {
        let input = match &instance.module_input {
            None => None,
            Some(spanned) => match &spanned.value {
                Known::Known(input) => Some(input.as_str()),
                Known::Unknown(reason) => {
                    return Err(format!("its module's input is unknown: {reason}"));
                }
            },
        };
        match input {
            None => default_service_source(self.clan_core_last_modified).ok_or_else(|| {
                "the pinned clan-core is of the day `module.input`'s default changed".into()
            }),
            Some("self") => Ok(ServiceSource::Flake),
            Some(name)
                if self
                    .service_sources
                    .clan_core_inputs
                    .iter()
                    .any(|n| n == name) =>
            {
                Ok(ServiceSource::ClanCore)
            }
            Some(name) => Err(format!(
                "its module comes from input `{name}`, which clanc does not read"
            )),
        }
    }
}
