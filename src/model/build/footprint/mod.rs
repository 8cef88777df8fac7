//! Collecting what each machine's configuration is made of while the model is built, then
//! following its code (see [`crate::model::footprint`] for what is followed and why).
//!
//! While the model is built, each machine's evaluations (its own modules, then with what its
//! services give it) are kept, with the definitions that make the machine and the paths its
//! evaluation read first. A path an earlier machine's evaluation read first (or a value it
//! computed, which the evaluator caches) is not read again: reads only add reasons; what
//! decides is the code each machine's modules are made of, followed from its text.

use std::collections::HashMap;

use super::*;
use crate::files::ReadKind;
use crate::model::footprint::{Footprint, Footprints, PieceKind};
use crate::modules::system::{ImportRecord, ReadModule};

mod services;
mod trace;

use trace::{Tracer, Work};

/// What the build keeps for the footprints.
#[derive(Default)]
pub(in crate::model) struct RawFootprints {
    machines: BTreeMap<String, RawMachine>,
    /// Each flake service's evaluation (`clan.modules.<name>`).
    services: BTreeMap<String, Rc<Evaluation>>,
    /// Definitions every machine depends on: where, and whether to follow its code.
    shared: Vec<(Pos, bool)>,
    instances: BTreeMap<String, Vec<Pos>>,
    tags: Vec<Pos>,
    /// The definitions of `specialArgs`: where, and whether that is a key.
    special: Vec<(Pos, bool)>,
}

/// What the footprints read of an evaluation of a machine (not its option tree, which is
/// freed once the machine is read).
pub(super) struct KeptEvaluation {
    pub(super) imports: Vec<ImportRecord>,
    pub(super) read: Vec<ReadModule>,
    pub(super) open: Option<String>,
    pub(super) failed: Option<ModuleFailure>,
}

impl KeptEvaluation {
    fn of(evaluation: &Evaluation) -> KeptEvaluation {
        KeptEvaluation {
            imports: evaluation.imports.clone(),
            read: evaluation.read.clone(),
            open: evaluation.open.clone(),
            failed: evaluation.failed.clone(),
        }
    }
}

#[derive(Default)]
pub(super) struct RawMachine {
    pub(super) evaluations: Vec<KeptEvaluation>,
    /// Where the definitions that make the machine are (`clan.machines.<m>`,
    /// `inventory.machines.<m>`): a value, or a key (then its set counts).
    pub(super) defs: Vec<(Pos, bool)>,
    pub(super) reads: Vec<(ReadKind, String)>,
    pub(super) failed: Option<String>,
}
impl Reader<'_, '_> {
    fn raw(&mut self) -> Option<&mut RawFootprints> {
        self.footprint.as_mut()
    }

    /// Keeps a machine's own evaluation, its definitions and what it read since `mark`.
    pub(super) fn footprint_machine(
        &mut self,
        name: &str,
        node: Option<&Rc<Node>>,
        evaluation: Option<&Rc<Evaluation>>,
        mark: usize,
        failed: Option<String>,
    ) {
        if self.footprint.is_none() {
            return;
        }
        let defs = node.map(|n| self.def_places(n)).unwrap_or_default();
        let reads = self.files.reads_since(mark);
        let Some(raw) = self.raw() else { return };
        let machine = raw.machines.entry(name.to_string()).or_default();
        machine.defs.extend(defs);
        machine.reads.extend(reads);
        if let Some(e) = evaluation {
            machine.evaluations.push(KeptEvaluation::of(e));
        }
        if machine.failed.is_none() {
            machine.failed = failed;
        }
    }

    /// Keeps an evaluation of a machine with what its services give it.
    pub(in crate::model) fn footprint_evaluation(
        &mut self,
        name: &str,
        evaluation: &Rc<Evaluation>,
    ) {
        if let Some(raw) = self.raw() {
            let machine = raw.machines.entry(name.to_string()).or_default();
            machine.evaluations.push(KeptEvaluation::of(evaluation));
        }
    }

    /// Keeps a flake service's evaluation.
    pub(super) fn footprint_service(&mut self, name: &str, evaluation: Option<Rc<Evaluation>>) {
        if let (Some(raw), Some(e)) = (self.raw(), evaluation) {
            raw.services.insert(name.to_string(), e);
        }
    }

    /// Where each user definition of a node is: its value, else its key.
    fn def_places(&self, node: &Node) -> Vec<(Pos, bool)> {
        self.user_defs(node)
            .iter()
            .filter_map(|d| match self.def_value_pos(d) {
                Some(p) => Some((p, false)),
                None => d.pos.map(|p| (p, true)),
            })
            .collect()
    }

    /// The children of a node, without noting what is unknown (the model's notes stay as
    /// the build without footprints makes them).
    fn quiet_children(&mut self, node: &Option<Rc<Node>>) -> Vec<(String, Rc<Node>)> {
        let Some(node) = node else { return Vec::new() };
        match node.children(self.ev) {
            Some(children) => (children.map.iter())
                .map(|(k, n)| (k.to_string(), n.clone()))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Keeps the definitions of the clan's options, its instances, inventory machines and
    /// tags.
    pub(super) fn footprint_definitions(
        &mut self,
        root: &Option<Rc<Node>>,
        inventory: &Option<Rc<Node>>,
    ) {
        if self.footprint.is_none() {
            return;
        }
        let mut shared = Vec::new();
        let mut special = Vec::new();
        for (name, node) in self.quiet_children(root) {
            if name == "specialArgs" {
                special = self.def_places(&node);
            }
            // Machines, the inventory and services are compared by what they are; templates
            // make no machine.
            if matches!(
                name.as_str(),
                "machines" | "inventory" | "modules" | "templates"
            ) {
                continue;
            }
            // Their values reach the machines through names the machines' code uses
            // (followed there): only their text counts here.
            let follow = !matches!(name.as_str(), "specialArgs" | "self" | "directory");
            for (pos, _) in self.def_places(&node) {
                shared.push((pos, follow));
            }
        }
        let mut instances = BTreeMap::new();
        let instances_node = self.child(inventory, "instances");
        for (name, node) in self.quiet_children(&instances_node) {
            let places = self.def_places(&node).into_iter().map(|(p, _)| p).collect();
            instances.insert(name, places);
        }
        let tags_node = self.child(inventory, "tags");
        let tags: Vec<Pos> = tags_node
            .map(|n| self.def_places(&n).into_iter().map(|(p, _)| p).collect())
            .unwrap_or_default();
        let machines_node = self.child(inventory, "machines");
        let mut machine_defs = Vec::new();
        for (name, node) in self.quiet_children(&machines_node) {
            machine_defs.push((name, self.def_places(&node)));
        }
        let Some(raw) = self.raw() else { return };
        raw.shared = shared;
        raw.special = special;
        raw.instances = instances;
        raw.tags = tags;
        for (name, defs) in machine_defs {
            raw.machines.entry(name).or_default().defs.extend(defs);
        }
    }

    /// Follows the code of everything kept, into the footprints.    /// Follows the code of everything kept, into the footprints.
    pub(super) fn footprints(&mut self, raw: RawFootprints) -> Footprints {
        let mut tracer = Tracer::new(self.ev, self.db, self.files, self.clan, &raw.special);
        // Module functions and service callbacks of every evaluation.
        let mut service_files: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, evaluation) in &raw.services {
            let files = tracer.note_functions(&evaluation.read);
            service_files.insert(name.clone(), files);
        }
        for file in service_files.values().flatten() {
            tracer.note_callbacks(file);
        }
        for machine in raw.machines.values() {
            for evaluation in &machine.evaluations {
                tracer.note_functions(&evaluation.read);
            }
        }
        let mut out = Footprints::default();
        for (name, machine) in &raw.machines {
            if self.clan.machines.contains_key(name) {
                out.machines.insert(name.clone(), tracer.machine(machine));
            }
        }
        out.shared = shared_footprint(&mut tracer, &raw);
        out.instances = instance_footprints(&mut tracer, &raw, self.clan);
        for (name, instance) in &self.clan.instances {
            let read = tracer.roles_read(self.clan, instance, &service_files);
            out.roles_read.insert(name.clone(), read);
        }
        // Each flake service's own code (its instances' members depend on all of it).
        for (name, evaluation) in &raw.services {
            out.services
                .insert(name.clone(), tracer.evaluation(evaluation));
        }
        out
    }
}

/// What every machine depends on: the clan's options clanc does not compare as data, and
/// `flake.nix`'s `inputs`.
fn shared_footprint(tracer: &mut Tracer, raw: &RawFootprints) -> Footprint {
    let mut shared = Footprint::default();
    let mut work: Vec<Work> = raw
        .shared
        .iter()
        .map(|(pos, follow)| {
            Work::at(
                tracer.ev.file_path(pos.file),
                Some(pos.range),
                PieceKind::Definition,
                *follow,
            )
        })
        .collect();
    let flake_nix = format!("{}/flake.nix", tracer.root.trim_end_matches('/'));
    if let Some(inputs) = tracer
        .index(&flake_nix)
        .and_then(|i| i.root_attribute("inputs"))
    {
        work.push(Work::at(
            flake_nix,
            Some(inputs),
            PieceKind::Definition,
            false,
        ));
    }
    tracer.trace(&mut shared, work, &HashMap::new());
    shared
}

/// Each instance's definitions (and the tags', when its roles use tags).
fn instance_footprints(
    tracer: &mut Tracer,
    raw: &RawFootprints,
    clan: &Clan,
) -> BTreeMap<String, Footprint> {
    let mut out = BTreeMap::new();
    for (name, places) in &raw.instances {
        let uses_tags = clan.instances.get(name).is_some_and(|i| {
            i.roles
                .values()
                .any(|r| !r.tags.is_empty() || r.tags_unknown.is_some())
        });
        let mut footprint = Footprint::default();
        let work = places
            .iter()
            .chain(raw.tags.iter().filter(|_| uses_tags))
            .map(|pos| {
                Work::at(
                    tracer.ev.file_path(pos.file),
                    Some(pos.range),
                    PieceKind::Definition,
                    true,
                )
            })
            .collect();
        tracer.trace(&mut footprint, work, &HashMap::new());
        out.insert(name.clone(), footprint);
    }
    out
}
