//! Collecting what each machine's configuration is made of while the model is built, then
//! following its code (see [`crate::model::footprint`] for what is followed and why).
//!
//! While the model is built, each machine's evaluations (its own modules, then with what its
//! services give it) are kept, with the definitions that make the machine and the paths its
//! evaluation read first. A path an earlier machine's evaluation read first (or a value it
//! computed, which the evaluator caches) is not read again: reads only add reasons; what
//! decides is the code each machine's modules are made of, followed from its text.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::eval::{CodeIndex, ThunkOrigin, canon_path};
use crate::files::ReadKind;
use crate::model::footprint::{
    Footprint, Footprints, PieceKind, RolesRead, line_of, relative_to_root, text_hash,
};
use crate::modules::system::ReadModule;

/// The most pieces of code one footprint follows before it gives up (unbounded).
const MAX_WORK: usize = 100_000;

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

#[derive(Default)]
struct RawMachine {
    evaluations: Vec<Rc<Evaluation>>,
    /// Where the definitions that make the machine are (`clan.machines.<m>`,
    /// `inventory.machines.<m>`): a value, or a key (then its set counts).
    defs: Vec<(Pos, bool)>,
    reads: Vec<(ReadKind, String)>,
    failed: Option<String>,
}

/// One piece of code to look at.
struct Work {
    path: String,
    /// `None`: the whole file.
    range: Option<TextRange>,
    kind: PieceKind,
    follow: bool,
    /// `range` is an attribute's name: the set it belongs to is the piece.
    key: bool,
    /// A file a path literal names: it may not exist.
    optional: bool,
}

impl Work {
    fn at(path: String, range: Option<TextRange>, kind: PieceKind, follow: bool) -> Work {
        Work {
            path,
            range,
            kind,
            follow,
            key: false,
            optional: false,
        }
    }
}

/// The functions whose arguments mean something known, by file (absolute path).
#[derive(Default, Clone)]
struct Functions {
    /// Module functions (a machine's, a service's): their arguments come from a module
    /// system.
    modules: HashMap<String, HashSet<TextRange>>,
    /// A service's `perInstance`/`perMachine`: their arguments are the instance's data.
    callbacks: HashMap<String, HashSet<TextRange>>,
}

impl Functions {
    fn of(&self, path: &str) -> HashSet<TextRange> {
        let mut all = self.modules.get(path).cloned().unwrap_or_default();
        if let Some(c) = self.callbacks.get(path) {
            all.extend(c.iter().copied());
        }
        all
    }
}

/// What an argument use brings in.
enum Effect {
    Nothing,
    /// A module argument that is not one of the module system's own: it may be one of
    /// `specialArgs`, whose value's code then counts.
    Special(String),
    /// Any change may reach it: why.
    Anything(String),
    /// It comes from code around it in the same file: the whole file counts.
    WholeFile,
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
            machine.evaluations.push(e.clone());
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
            machine.evaluations.push(evaluation.clone());
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

    /// Follows the code of everything kept, into the footprints.
    pub(super) fn footprints(&mut self, raw: RawFootprints) -> Footprints {
        let root = self.files.root().to_string();
        let mut tracer = Tracer {
            ev: self.ev,
            db: self.db,
            files: self.files,
            root: root.clone(),
            indexes: HashMap::new(),
            texts: HashMap::new(),
            functions: Functions::default(),
            path_files: HashSet::new(),
            outputs: None,
            special: Ok(BTreeMap::new()),
            input_reasons: match &self.clan.inputs {
                Known::Known(names) => names
                    .iter()
                    .map(|n| crate::modules::flake::unmodelled_input(n))
                    .collect(),
                Known::Unknown(_) => HashSet::new(),
            },
        };
        tracer.special = tracer.special_args(&raw.special);
        let flake_nix = format!("{}/flake.nix", root.trim_end_matches('/'));
        tracer.outputs = tracer
            .index(&flake_nix)
            .and_then(|i| i.root_attribute("outputs"))
            .map(|r| (flake_nix.clone(), r));
        // Module functions and service callbacks of every evaluation.
        let mut service_files: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, evaluation) in &raw.services {
            let files = tracer.note_functions(&evaluation.read);
            service_files.insert(name.clone(), files);
        }
        for files in service_files.values() {
            for file in files {
                tracer.note_callbacks(file);
            }
        }
        for machine in raw.machines.values() {
            for evaluation in &machine.evaluations {
                tracer.note_functions(&evaluation.read);
            }
        }
        let mut out = Footprints::default();
        for (name, machine) in &raw.machines {
            if !self.clan.machines.contains_key(name) {
                continue;
            }
            let footprint = tracer.machine(machine);
            out.machines.insert(name.clone(), footprint);
        }
        // What every machine depends on.
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
        if let Some(inputs) = tracer
            .index(&flake_nix)
            .and_then(|i| i.root_attribute("inputs"))
        {
            work.push(Work::at(
                flake_nix.clone(),
                Some(inputs),
                PieceKind::Definition,
                false,
            ));
        }
        tracer.trace(&mut shared, work, &HashMap::new());
        out.shared = shared;
        // Each instance: its definitions (and the tags', when its roles use tags).
        for (name, places) in &raw.instances {
            let uses_tags = self.clan.instances.get(name).is_some_and(|i| {
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
            out.instances.insert(name.clone(), footprint);
        }
        for (name, instance) in &self.clan.instances {
            let read = tracer.roles_read(self.clan, instance, &service_files);
            out.roles_read.insert(name.clone(), read);
        }
        // Each flake service's own code (its instances' members depend on all of it).
        for (name, evaluation) in &raw.services {
            let mut footprint = Footprint::default();
            let mut work = Vec::new();
            let mut skip = HashMap::new();
            if let Some(failed) = &evaluation.failed {
                footprint.unbounded(format!("it could not be read ({})", failed.message));
            }
            let located = tracer.input_reasons.clone();
            tracer.imports(evaluation, &located, &mut footprint, &mut work, &mut skip);
            for module in &evaluation.read {
                tracer.module(module, &mut footprint, &mut work, 0);
            }
            tracer.trace(&mut footprint, work, &skip);
            out.services.insert(name.clone(), footprint);
        }
        out
    }
}

struct Tracer<'t, 'a> {
    ev: &'t Evaluator<'a>,
    db: &'a dyn Db,
    files: &'t ClanFiles,
    root: String,
    indexes: HashMap<String, Option<Rc<CodeIndex>>>,
    texts: HashMap<String, Option<Arc<str>>>,
    functions: Functions,
    /// Files named by a path literal and followed: their functions take module arguments.
    path_files: HashSet<String>,
    /// flake.nix's `outputs` function (its arguments are the flake's inputs and `self`).
    outputs: Option<(String, TextRange)>,
    /// `specialArgs` by name: where each value is written; or why clanc cannot tell.
    special: Result<BTreeMap<String, Vec<(String, TextRange)>>, String>,
    /// Why an input clanc has no model of is unknown: a module from one changes only with
    /// `flake.lock`.
    input_reasons: HashSet<String>,
}

impl Tracer<'_, '_> {
    fn text(&mut self, path: &str) -> Option<Arc<str>> {
        if let Some(t) = self.texts.get(path) {
            return t.clone();
        }
        let text = crate::eval::Files::source(self.files, self.db, &self.file_of(path))
            .ok()
            .map(|f| f.text(self.db).clone());
        self.texts.insert(path.to_string(), text.clone());
        text
    }

    /// The file importing `path` reads: `default.nix` of a directory, as `import` does.
    fn file_of(&self, path: &str) -> String {
        match crate::eval::Files::file_type(self.files, path) {
            Some(crate::db::EntryKind::Directory) => {
                format!("{}/default.nix", path.trim_end_matches('/'))
            }
            _ => path.to_string(),
        }
    }

    /// `specialArgs` by name, read from the text of its definitions (sets written out).
    fn special_args(
        &mut self,
        places: &[(Pos, bool)],
    ) -> Result<BTreeMap<String, Vec<(String, TextRange)>>, String> {
        let mut out: BTreeMap<String, Vec<(String, TextRange)>> = BTreeMap::new();
        for (pos, key) in places {
            let path = self.ev.file_path(pos.file);
            let rel = relative_to_root(&self.root, &path).unwrap_or_else(|| path.clone());
            let line = self
                .text(&path)
                .map_or(0, |t| line_of(&t, usize::from(pos.range.start())));
            let attributes = (!key)
                .then(|| self.index(&path))
                .flatten()
                .and_then(|i| i.set_attributes(pos.range));
            let Some(attributes) = attributes else {
                return Err(format!(
                    "`specialArgs` at {rel}:{line} is not written as a set"
                ));
            };
            for (name, range) in attributes {
                out.entry(name.to_string())
                    .or_default()
                    .push((path.clone(), range));
            }
        }
        Ok(out)
    }

    fn index(&mut self, path: &str) -> Option<Rc<CodeIndex>> {
        if let Some(i) = self.indexes.get(path) {
            return i.clone();
        }
        let index = crate::eval::Files::source(self.files, self.db, &self.file_of(path))
            .ok()
            .map(|source| {
                let lowered =
                    crate::eval::lower_file(self.db, source, Limits::DEFAULT_LOWER_BUDGET);
                Rc::new(CodeIndex::new(lowered.clone()))
            });
        self.indexes.insert(path.to_string(), index.clone());
        index
    }

    /// Notes the module functions among modules read; returns the files they are in.
    fn note_functions(&mut self, read: &[ReadModule]) -> Vec<String> {
        let mut files = Vec::new();
        for module in read {
            if let Some(path) = &module.path {
                files.push(path.to_string());
            }
            if let Some(pos) = Evaluator::lambda_pos(&module.value) {
                let path = self.ev.file_path(pos.file);
                (self.functions.modules.entry(path.clone()).or_default()).insert(pos.range);
                files.push(path);
            }
            // A module written as a set: the files its attributes are written in.
            if let Value::Attrs(attrs) = &module.value {
                for attr in &attrs.entries {
                    if let Some(pos) = attr.pos {
                        files.push(self.ev.file_path(pos.file));
                    }
                }
            }
        }
        files.retain(|f| !crate::modules::known::is_builtin(f));
        files.sort();
        files.dedup();
        files
    }

    /// Notes the `perInstance`/`perMachine` functions of a service's file.
    fn note_callbacks(&mut self, path: &str) {
        let Some(index) = self.index(path) else {
            return;
        };
        for (_, range) in index.attribute_values(&["perInstance", "perMachine"]) {
            if index.is_function(range) {
                (self
                    .functions
                    .callbacks
                    .entry(path.to_string())
                    .or_default())
                .insert(range);
            }
        }
    }

    /// A machine's footprint.
    fn machine(&mut self, raw: &RawMachine) -> Footprint {
        let mut footprint = Footprint::default();
        if let Some(reason) = &raw.failed {
            footprint.unbounded(format!("its modules are not all known ({reason})"));
        }
        let mut work = Vec::new();
        let mut skip: HashMap<String, HashSet<TextRange>> = HashMap::new();
        // An evaluation after the first collects the same modules again, their imports
        // forced already (no positions left): an unknown import the first located is known.
        let mut located: HashSet<String> = self.input_reasons.clone();
        for evaluation in &raw.evaluations {
            for record in &evaluation.imports {
                if let (ImportedModule::Unknown(why), Some(_)) = (&record.target, record.element) {
                    located.insert(why.clone());
                }
            }
        }
        for evaluation in &raw.evaluations {
            if let Some(failed) = &evaluation.failed {
                footprint.unbounded(format!(
                    "a module of it could not be read ({})",
                    failed.message
                ));
            }
            let unknown = self.imports(evaluation, &located, &mut footprint, &mut work, &mut skip);
            if let (Some(open), false) = (&evaluation.open, unknown) {
                footprint.unbounded(format!("its modules are not all known ({open})"));
            }
            for module in &evaluation.read {
                self.module(module, &mut footprint, &mut work, 0);
            }
        }
        for (pos, key) in &raw.defs {
            let mut w = Work::at(
                self.ev.file_path(pos.file),
                Some(pos.range),
                PieceKind::Definition,
                true,
            );
            w.key = *key;
            work.push(w);
        }
        for (kind, path) in &raw.reads {
            if let Some(rel) = relative_to_root(&self.root, path) {
                let what = match kind {
                    ReadKind::File => "read by its evaluation",
                    ReadKind::Listing => "listed by its evaluation",
                    ReadKind::Type => "looked up by its evaluation",
                };
                footprint.add_path(rel, *kind == ReadKind::Listing, what.to_string());
            }
        }
        self.trace(&mut footprint, work, &skip);
        footprint
    }

    /// The imports of an evaluation: lists whose elements are all known need not be followed
    /// (the modules they gave are pieces themselves); elements clanc could not know are.
    /// Returns whether some element was unknown.
    fn imports(
        &mut self,
        evaluation: &Evaluation,
        located: &HashSet<String>,
        footprint: &mut Footprint,
        work: &mut Vec<Work>,
        skip: &mut HashMap<String, HashSet<TextRange>>,
    ) -> bool {
        let mut unknown_any = false;
        for record in &evaluation.imports {
            if let ImportedModule::File(p) = &record.target
                && let Some(rel) = relative_to_root(&self.root, p)
            {
                footprint.add_path(rel, false, "imported by its modules".to_string());
            }
            if let Some(list) = record.list {
                (skip.entry(self.ev.file_path(list.file)).or_default()).insert(list.range);
            }
            let known = matches!(
                record.target,
                ImportedModule::File(_) | ImportedModule::Inline
            );
            if known {
                continue;
            }
            unknown_any = true;
            match record.element {
                // An input's module (it changes with flake.lock), or one located before.
                None if matches!(&record.target, ImportedModule::Unknown(why) if located.contains(why)) =>
                    {}
                Some(pos) => work.push(Work::at(
                    self.ev.file_path(pos.file),
                    Some(pos.range),
                    PieceKind::Used,
                    true,
                )),
                None => {
                    let why = match &record.target {
                        ImportedModule::Unknown(r) | ImportedModule::Failed(r) => r.clone(),
                        _ => String::new(),
                    };
                    footprint.unbounded(format!("it imports a module clanc cannot locate ({why})"));
                }
            }
        }
        unknown_any
    }

    /// A module the evaluation read: its code.
    fn module(
        &mut self,
        module: &ReadModule,
        footprint: &mut Footprint,
        work: &mut Vec<Work>,
        depth: usize,
    ) {
        if let Some(path) = &module.path {
            work.push(Work::at(path.to_string(), None, PieceKind::File, true));
        }
        match &module.value {
            Value::Lambda(_) => {
                if let Some(pos) = Evaluator::lambda_pos(&module.value) {
                    work.push(Work::at(
                        self.ev.file_path(pos.file),
                        Some(pos.range),
                        PieceKind::Module,
                        true,
                    ));
                }
            }
            Value::Attrs(_) => self.value(&module.value, footprint, work, depth),
            // An input's module clanc cannot see into: its import element is followed.
            Value::Unknown(_) => {}
            _ => {}
        }
    }

    /// A value a module is made of: where its code is, as far as it can be found.
    fn value(
        &mut self,
        value: &Value,
        footprint: &mut Footprint,
        work: &mut Vec<Work>,
        depth: usize,
    ) {
        if depth > 16 {
            footprint.unbounded("a value of its modules is nested too deep to follow".into());
            return;
        }
        match value {
            Value::Lambda(_) => {
                if let Some(pos) = Evaluator::lambda_pos(value) {
                    work.push(Work::at(
                        self.ev.file_path(pos.file),
                        Some(pos.range),
                        PieceKind::Used,
                        true,
                    ));
                }
            }
            Value::Attrs(attrs) => {
                for attr in &attrs.entries {
                    match attr.pos {
                        Some(pos) => {
                            let mut w = Work::at(
                                self.ev.file_path(pos.file),
                                Some(pos.range),
                                PieceKind::Module,
                                true,
                            );
                            w.key = true;
                            work.push(w);
                        }
                        None => self.thunk(&attr.value, footprint, work, depth + 1),
                    }
                }
            }
            Value::List(items) => {
                for item in items.iter() {
                    self.thunk(item, footprint, work, depth + 1);
                }
            }
            Value::String(s) => {
                let (text, literal) = s.copy_out();
                match literal {
                    Some(pos) => work.push(Work::at(
                        self.ev.file_path(pos.file),
                        Some(pos.range),
                        PieceKind::Used,
                        false,
                    )),
                    // Computed: the value counts (the clan's own path in it as a name, since
                    // two states of the clan are compared from two directories).
                    None => {
                        let text = text.replace(self.root.trim_end_matches('/'), "<clan>");
                        footprint.add_piece(String::new(), text_hash(&text), 0, PieceKind::Used)
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                let shown = format!("{value:?}");
                footprint.add_piece(String::new(), text_hash(&shown), 0, PieceKind::Used);
            }
            Value::Path(p) => {
                if let Some(rel) = relative_to_root(&self.root, p) {
                    footprint.add_path(rel, true, "a path its modules hold".to_string());
                }
            }
            Value::PrimOp(app) => {
                for arg in &app.args {
                    self.thunk(arg, footprint, work, depth + 1);
                }
            }
            Value::Unknown(u) => footprint.unbounded(format!(
                "a value of its modules is unknown to clanc ({})",
                u.reason
            )),
        }
    }

    fn thunk(
        &mut self,
        thunk: &Thunk,
        footprint: &mut Footprint,
        work: &mut Vec<Work>,
        depth: usize,
    ) {
        match self.ev.thunk_origin(thunk) {
            ThunkOrigin::Code(pos) => work.push(Work::at(
                self.ev.file_path(pos.file),
                Some(pos.range),
                PieceKind::Used,
                true,
            )),
            ThunkOrigin::Literal(pos) => work.push(Work::at(
                self.ev.file_path(pos.file),
                Some(pos.range),
                PieceKind::Used,
                false,
            )),
            ThunkOrigin::Value(v) => self.value(&v, footprint, work, depth),
            ThunkOrigin::Apply(f, args) => {
                self.value(&f, footprint, work, depth + 1);
                for arg in &args {
                    self.thunk(arg, footprint, work, depth + 1);
                }
            }
            ThunkOrigin::Pending => {
                footprint.unbounded("a value of its modules was left half computed".into())
            }
        }
    }

    /// Follows pieces of code: each is added to the footprint, then what it reaches.
    fn trace(
        &mut self,
        footprint: &mut Footprint,
        mut work: Vec<Work>,
        skip: &HashMap<String, HashSet<TextRange>>,
    ) {
        let no_skip = HashSet::new();
        // Places seen, and whether they were followed.
        let mut seen: HashMap<(String, Option<TextRange>), bool> = HashMap::new();
        let mut done = 0usize;
        while let Some(mut w) = work.pop() {
            done += 1;
            if done > MAX_WORK {
                footprint.unbounded("it is made of more code than clanc follows".into());
                return;
            }
            // A directory imported is its default.nix.
            if w.range.is_none() {
                w.path = self.file_of(&w.path);
            }
            let Some(rel) = relative_to_root(&self.root, &w.path) else {
                continue;
            };
            let Some(text) = self.text(&w.path) else {
                if !w.optional {
                    footprint.unbounded(format!("{rel} cannot be read"));
                }
                continue;
            };
            let mut range = w.range;
            if w.key {
                let set = range.and_then(|r| self.index(&w.path).and_then(|i| i.set_of_key(r)));
                match set {
                    Some(set) => range = Some(set),
                    // Not in a set clanc can find: the name's text counts alone.
                    None => {
                        let piece = range.and_then(|r| text.get(std::ops::Range::<usize>::from(r)));
                        if let (Some(piece), Some(r)) = (piece, range) {
                            let line = line_of(&text, usize::from(r.start()));
                            footprint.add_piece(rel.clone(), text_hash(piece), line, w.kind);
                        }
                        continue;
                    }
                }
            }
            let place = (w.path.clone(), range);
            match seen.get(&place) {
                Some(true) => continue,
                Some(false) if !w.follow => continue,
                Some(false) => {}
                None => {
                    let piece = match range {
                        Some(r) => text.get(std::ops::Range::<usize>::from(r)),
                        None => Some(&*text),
                    };
                    let Some(piece) = piece else {
                        footprint.unbounded(format!("{rel} changed while clanc read it"));
                        continue;
                    };
                    let line = range.map_or(1, |r| line_of(&text, usize::from(r.start())));
                    let kind = if range.is_none() {
                        PieceKind::File
                    } else {
                        w.kind
                    };
                    footprint.add_piece(rel.clone(), text_hash(piece), line, kind);
                }
            }
            seen.insert(place, w.follow);
            if !w.follow {
                continue;
            }
            let Some(index) = self.index(&w.path) else {
                continue;
            };
            let functions = self.functions.of(&w.path);
            let skipping = skip.get(&w.path).unwrap_or(&no_skip);
            let Some(reach) = index.reach(range, skipping, &functions) else {
                continue;
            };
            let dir = w.path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
            for literal in &reach.paths {
                if literal.home {
                    continue;
                }
                let full = if literal.relative {
                    format!("{dir}/{}", literal.text)
                } else {
                    literal.text.clone()
                };
                let fixed = if literal.interpolated {
                    full.rsplit_once('/')
                        .map_or(full.clone(), |(d, _)| d.to_string())
                } else {
                    full
                };
                let path = canon_path(&fixed);
                let line = line_of(&text, usize::from(literal.range.start()));
                if let Some(p) = relative_to_root(&self.root, &path) {
                    footprint.add_path(p, true, format!("named at {rel}:{line}"));
                }
                if !literal.interpolated {
                    // A file it names may be imported by code clanc did not evaluate.
                    let file = if crate::eval::Files::file_type(self.files, &path)
                        == Some(crate::db::EntryKind::Directory)
                    {
                        format!("{}/default.nix", path.trim_end_matches('/'))
                    } else {
                        path
                    };
                    if file.ends_with(".nix") {
                        self.path_files.insert(file.clone());
                        let mut w = Work::at(file, None, PieceKind::File, true);
                        w.optional = true;
                        work.push(w);
                    }
                }
            }
            // Parts of it written elsewhere (merged attribute paths): their text counts.
            for spread in &reach.spread {
                work.push(Work::at(w.path.clone(), Some(*spread), w.kind, false));
            }
            for captured in &reach.captured {
                work.push(Work::at(
                    w.path.clone(),
                    Some(*captured),
                    PieceKind::Used,
                    true,
                ));
            }
            for argument in &reach.arguments {
                match self.argument(&w.path, &index, argument) {
                    Effect::Nothing => {}
                    Effect::WholeFile => {
                        work.push(Work::at(w.path.clone(), None, PieceKind::File, true))
                    }
                    Effect::Anything(why) => {
                        let line = line_of(&text, usize::from(argument.range.start()));
                        footprint.unbounded(format!("{why} at {rel}:{line}"));
                    }
                    Effect::Special(name) => match &self.special {
                        Ok(special) => {
                            for (path, range) in special.get(&name).into_iter().flatten() {
                                work.push(Work::at(
                                    path.clone(),
                                    Some(*range),
                                    PieceKind::Used,
                                    true,
                                ));
                            }
                        }
                        Err(why) => {
                            let line = line_of(&text, usize::from(argument.range.start()));
                            footprint.unbounded(format!(
                                "it uses the module argument `{name}`, which may come from \
                                 `specialArgs`, and {why}, at {rel}:{line}"
                            ));
                        }
                    },
                }
            }
        }
    }

    /// What the use of a function's argument brings in.
    fn argument(&self, path: &str, index: &CodeIndex, used: &crate::eval::ArgumentUse) -> Effect {
        let function = used.function;
        let in_set = |m: &HashMap<String, HashSet<TextRange>>| {
            m.get(path).is_some_and(|s| s.contains(&function))
        };
        let root_function = index.root_function() == Some(function);
        if in_set(&self.functions.modules) || (root_function && self.path_files.contains(path)) {
            return module_argument(&used.name, used.whole, used.select.as_deref());
        }
        if in_set(&self.functions.callbacks) {
            // The instance's data: compared as data.
            return Effect::Nothing;
        }
        if self.outputs.as_ref() == Some(&(path.to_string(), function)) {
            return match (used.whole, used.select.as_deref()) {
                (true, select) => inputs_argument(select),
                (false, _) if &*used.name == "self" => {
                    Effect::Anything("it uses `self` (the whole flake)".into())
                }
                // An input by name: it changes with flake.lock.
                (false, _) => Effect::Nothing,
            };
        }
        // A function called here with this file's values: the whole file counts. One called
        // from elsewhere (a flake-parts module given to mkFlake) gets what its caller gives:
        // known by name only.
        if !root_function && index.called_locally(function) {
            return Effect::WholeFile;
        }
        file_argument(
            &used.name,
            used.whole,
            used.select.as_deref(),
            path,
            &self.root,
        )
    }

    /// Whether an instance's service reads the members of its roles.
    fn roles_read(
        &mut self,
        clan: &Clan,
        instance: &Instance,
        service_files: &BTreeMap<String, Vec<String>>,
    ) -> RolesRead {
        let Known::Known(module) = &instance.module_name.value else {
            return RolesRead::Maybe("its service's name is unknown".into());
        };
        let input = instance.module_input.as_ref().map(|i| &i.value);
        let clan_core = match input {
            None => true,
            Some(Known::Known(i)) if i == "self" => false,
            Some(Known::Known(i)) if clan.service_sources.clan_core_inputs.contains(i) => true,
            Some(Known::Known(i)) => {
                return RolesRead::Maybe(format!(
                    "its service comes from input `{i}`, which clanc does not read"
                ));
            }
            Some(Known::Unknown(why)) => {
                return RolesRead::Maybe(format!("its service's input is unknown ({why})"));
            }
        };
        if !clan_core {
            let Some(files) = service_files.get(module) else {
                return RolesRead::Maybe(format!("clanc could not read service `{module}`"));
            };
            let files = files.clone();
            let root = self.root.clone();
            return self.scan_service(&files, &root);
        }
        let Some(dir) = clan.service_sources.clan_core_dir.clone() else {
            return RolesRead::Maybe(format!(
                "clan-core's source is not on this machine, so clanc cannot read service `{module}`"
            ));
        };
        let service_dir = format!("{dir}/clanServices/{module}");
        let mut files = Vec::new();
        self.nix_files(&service_dir, 0, &mut files);
        if files.is_empty() {
            return RolesRead::Maybe(format!(
                "clan-core has no service `{module}` clanc can read"
            ));
        }
        self.scan_service(&files, &dir)
    }

    /// The `.nix` files below a directory (a few levels deep).
    fn nix_files(&self, dir: &str, depth: usize, out: &mut Vec<String>) {
        use crate::eval::Files;
        if depth > 4 || out.len() > 200 {
            return;
        }
        let Ok(entries) = self.files.read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = format!("{dir}/{}", entry.name);
            match entry.kind {
                crate::db::EntryKind::Directory => self.nix_files(&path, depth + 1, out),
                _ if entry.name.ends_with(".nix") => out.push(path),
                _ => {}
            }
        }
    }

    /// Whether a service's files read the roles' members (paths shown relative to `base`).
    fn scan_service(&mut self, files: &[String], base: &str) -> RolesRead {
        if files.is_empty() {
            return RolesRead::Maybe("clanc found no code of its service".into());
        }
        let mut maybe = None;
        for path in files {
            let Some(index) = self.index(path) else {
                continue;
            };
            let Some(text) = self.text(path) else {
                continue;
            };
            let shown = path
                .strip_prefix(base.trim_end_matches('/'))
                .map_or(path.as_str(), |p| p.trim_start_matches('/'));
            for (attr, range) in index.attribute_values(&["perInstance", "perMachine"]) {
                let line = line_of(&text, usize::from(range.start()));
                if !index.is_function(range) {
                    maybe.get_or_insert(format!(
                        "its `{attr}` at {shown}:{line} is not written as a function"
                    ));
                    continue;
                }
                let functions: HashSet<TextRange> = [range].into();
                let Some(reach) = index.reach(Some(range), &HashSet::new(), &functions) else {
                    continue;
                };
                for used in reach.arguments.iter().filter(|a| a.function == range) {
                    let name = match (used.whole, used.select.as_deref()) {
                        (true, Some([first, ..])) => first.to_string(),
                        (true, _) => {
                            maybe.get_or_insert(format!(
                                "its `{attr}` at {shown}:{line} takes its arguments as a whole"
                            ));
                            continue;
                        }
                        (false, _) => used.name.to_string(),
                    };
                    if matches!(name.as_str(), "roles" | "instances" | "exports") {
                        let at = line_of(&text, usize::from(used.range.start()));
                        return RolesRead::Yes(format!("`{name}` at {shown}:{at}"));
                    }
                }
            }
        }
        match maybe {
            Some(why) => RolesRead::Maybe(why),
            None => RolesRead::No,
        }
    }
}

/// An argument of a module function (a machine's or a service's module).
fn module_argument(name: &str, whole: bool, select: Option<&[Arc<str>]>) -> Effect {
    if whole {
        return match select {
            Some([first, rest @ ..]) => module_argument(first, false, Some(rest)),
            _ => Effect::Anything("it uses its module arguments as a whole".into()),
        };
    }
    match name {
        "self" | "directory" => Effect::Anything(format!("it uses `{name}` (the whole flake)")),
        "inputs" => inputs_argument(select),
        // The module system's own arguments.
        "config" | "options" | "lib" | "pkgs" | "modulesPath" | "name" | "utils"
        | "baseModules" | "extraModules" | "specialArgs" | "_class" | "_prefix"
        | "noUserModules" => Effect::Nothing,
        // `_module.args` of the machine's modules (followed where they are defined), or one
        // of `specialArgs`.
        _ => Effect::Special(name.to_string()),
    }
}

/// The flake's inputs (`inputs`), selected from by `select`.
fn inputs_argument(select: Option<&[Arc<str>]>) -> Effect {
    match select {
        Some([first, ..]) if &**first != "self" => Effect::Nothing,
        Some([_, ..]) => Effect::Anything("it uses `inputs.self` (the whole flake)".into()),
        _ => Effect::Anything("it uses `inputs` as a whole (which holds `self`)".into()),
    }
}

/// An argument of the function a file is (a flake-parts module, a file imported with
/// arguments): only what is known by name is followed.
fn file_argument(
    name: &str,
    whole: bool,
    select: Option<&[Arc<str>]>,
    path: &str,
    root: &str,
) -> Effect {
    if whole {
        return match select {
            Some([first, rest @ ..]) => file_argument(first, false, Some(rest), path, root),
            _ => Effect::Anything("it uses the arguments of its file's function as a whole".into()),
        };
    }
    match name {
        "inputs" => inputs_argument(select),
        "self" => Effect::Anything("it uses `self` (the whole flake)".into()),
        // nixpkgs: it changes with flake.lock.
        "lib" | "pkgs" => Effect::Nothing,
        _ => {
            let file = relative_to_root(root, path).unwrap_or_else(|| path.to_string());
            Effect::Anything(format!(
                "it uses `{name}`, an argument of the function in {file}, which clanc does not follow"
            ))
        }
    }
}
