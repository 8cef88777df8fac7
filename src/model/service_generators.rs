//! The vars generators a machine gets from the services of its instances and from clan-core's
//! own NixOS modules: the machine's modules are evaluated a second time together with what
//! the services give the machine (`known/service-modules.nix`), and the generators are read
//! from that evaluation. The first evaluation (the machine's own modules) stays the one every
//! diagnostic comes from: what fails in code the user did not write (clan-core's, a
//! service's distribution) only makes the machine's generators partial, with the reason.
//!
//! A service's source is known for the flake's own services (`clan.modules`) and, for
//! clan-core's, when clan-core's locked source is on this machine: the store path Nix fetches
//! it to (`flake.lock`'s `narHash`, [`crate::modules::flake_lock::store_path_of`]).

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::eval::{Attr, Attrs, Thunk, Value};
use crate::model::Generator;
use crate::modules::flake::FlakeEvaluation;
use crate::modules::known;
use crate::modules::system::{EvalSettings, Evaluation, ModuleSource, Name, evaluate};

use super::build::Reader;
use super::service_membership::{MachineServices, ServiceSource};

impl Reader<'_, '_> {
    /// The generators of `machine` with what its services and clan-core give it, evaluated
    /// with the machine's own `modules`. `Err` says why they are not known (errors there are
    /// not the user's: nothing is reported).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn service_generators(
        &mut self,
        flake: &FlakeEvaluation,
        clan_config: &Thunk,
        machine: &str,
        class: &str,
        services: &MachineServices,
        clan_core_source: Option<&str>,
        own_modules: (Vec<ModuleSource>, bool),
        args: Vec<(Name, Thunk)>,
    ) -> Result<BTreeMap<String, Generator>, String> {
        let reported = (
            self.clan.diagnostics.len(),
            self.clan.unknowns.len(),
            flake.ctx.diagnostics.borrow().len(),
            flake.ctx.unknowns.borrow().len(),
        );
        let result = self.read_service_generators(
            flake,
            clan_config,
            machine,
            class,
            services,
            clan_core_source,
            own_modules,
            args,
        );
        // Nothing of this evaluation is reported: a failure makes the generators partial.
        let failure = self.clan.diagnostics[reported.0..]
            .first()
            .map(|d| d.message.clone())
            .or_else(|| {
                (flake.ctx.diagnostics.borrow().get(reported.2..))
                    .and_then(|d| d.first().map(|d| d.message.clone()))
            })
            .or_else(|| {
                self.clan.unknowns[reported.1..]
                    .first()
                    .map(|n| format!("{}: {}", n.subject, n.reason))
            });
        self.clan.diagnostics.truncate(reported.0);
        self.clan.unknowns.truncate(reported.1);
        flake.ctx.diagnostics.borrow_mut().truncate(reported.2);
        flake.ctx.unknowns.borrow_mut().truncate(reported.3);
        let generators = result?;
        match failure {
            Some(reason) => Err(format!(
                "what clan-core and the services give the machine could not be evaluated: {reason}"
            )),
            None => Ok(generators),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn read_service_generators(
        &mut self,
        flake: &FlakeEvaluation,
        clan_config: &Thunk,
        machine: &str,
        class: &str,
        services: &MachineServices,
        clan_core_source: Option<&str>,
        (own_modules, own_open): (Vec<ModuleSource>, bool),
        mut args: Vec<(Name, Thunk)>,
    ) -> Result<BTreeMap<String, Generator>, String> {
        let call = attrs(vec![
            ("clan", clan_config.clone()),
            ("machine", string(machine)),
            ("class", string(class)),
            (
                "clanCore",
                Thunk::value(match clan_core_source {
                    Some(dir) => Value::Path(Rc::from(dir)),
                    None => Value::Null,
                }),
            ),
            (
                "clanDirectory",
                Thunk::value(Value::Path(Rc::from(self.files.root()))),
            ),
            ("instances", Thunk::value(instances_value(services))),
        ]);
        let mut modules = vec![ModuleSource::new(
            super::build::machine_schema(&flake.ctx, true),
            Some(Rc::from(known::path("machine.nix"))),
            None,
        )];
        modules.extend(own_modules);
        for item in self.service_modules(flake, call)? {
            modules.push(ModuleSource::new(
                item,
                Some(Rc::from(known::path("service-modules.nix"))),
                None,
            ));
        }
        args.push(("_class".into(), string(class)));
        let settings = EvalSettings {
            open_world: Some(
                "options of the machine's NixOS or nix-darwin modules are not modelled".into(),
            ),
            ..EvalSettings::default()
        };
        let evaluation = evaluate(&flake.ctx, self.ev, modules, args, settings);
        self.footprint_evaluation(machine, &evaluation);
        let generators = self.generators_of(machine, &evaluation, own_open);
        // Read: its option tree is freed now, as the machine's own (`read_machine_modules`).
        flake.ctx.release(evaluation);
        generators
    }

    /// The generators of a machine's evaluation with its services' modules.
    fn generators_of(
        &mut self,
        machine: &str,
        evaluation: &Rc<Evaluation>,
        own_open: bool,
    ) -> Result<BTreeMap<String, Generator>, String> {
        if let Some(failed) = &evaluation.failed {
            return Err(failed.message.clone());
        }
        // A module clanc cannot see into (an input's, an unknown value in `imports`) that the
        // machine's own modules do not already import (the model says so of those).
        if let Some(open) = &evaluation.open
            && !own_open
        {
            return Err(open.clone());
        }
        let root = Some(evaluation.root.clone());
        let generators_node = self.path(&root, &["clan", "core", "vars", "generators"]);
        let mut generators = BTreeMap::new();
        for (g, node) in self.keys(&generators_node) {
            if !node.is_defined() {
                continue;
            }
            let generator = self.read_generator(machine, &g, &node);
            generators.insert(g, generator);
        }
        Ok(generators)
    }

    /// `machineModules` of `known/service-modules.nix` called with `call`: the modules.
    fn service_modules(
        &mut self,
        flake: &FlakeEvaluation,
        call: Value,
    ) -> Result<Vec<Thunk>, String> {
        let unknown = self.ev.unknown("the exports of other services", None);
        let model = self
            .ev
            .import(&known::path("service-modules.nix"), None)
            .and_then(|f| {
                let arg = attrs(vec![
                    ("lib", flake.ctx.lib.clone()),
                    ("unknown", Thunk::value(unknown)),
                ]);
                self.ev.apply(f, Thunk::value(arg), None)
            })
            .map_err(|e| e.message.clone())?;
        let Value::Attrs(model) = model else {
            return Err("service-modules.nix is not a set".into());
        };
        let Some(function) = model.get("machineModules").cloned() else {
            return Err("service-modules.nix has no machineModules".into());
        };
        let list = self
            .ev
            .force(&function, None)
            .and_then(|f| self.ev.apply(f, Thunk::value(call), None))
            .map_err(|e| e.message.clone())?;
        match list {
            Value::List(items) => Ok(items.iter().cloned().collect()),
            other => Err(format!("the service modules are {}", other.describe())),
        }
    }
}

fn string(s: &str) -> Thunk {
    Thunk::value(Value::string(s.to_string()))
}

fn attrs(entries: Vec<(&str, Thunk)>) -> Value {
    Value::attrs(Attrs::from_unsorted(
        entries
            .into_iter()
            .map(|(name, value)| Attr {
                name: name.into(),
                value,
                pos: None,
            })
            .collect(),
    ))
}

/// The machine's instances as `service-modules.nix` takes them:
/// `[ { name; service = "self" | "clan-core"; roles = { <role> = [ <machine> ... ]; }; } ]`.
fn instances_value(services: &MachineServices) -> Value {
    let instances = services
        .memberships
        .iter()
        .map(|m| {
            let roles = (m.roles.iter())
                .map(|(r, machines)| {
                    let list = machines.iter().map(|name| string(name)).collect();
                    (r.as_str(), Thunk::value(Value::list(list)))
                })
                .collect();
            let source = match m.source {
                ServiceSource::Flake => "self",
                ServiceSource::ClanCore => "clan-core",
            };
            Thunk::value(attrs(vec![
                ("name", string(&m.instance)),
                ("service", string(source)),
                ("roles", Thunk::value(attrs(roles))),
            ]))
        })
        .collect();
    Value::list(instances)
}
