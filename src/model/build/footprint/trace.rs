//! Following the code a footprint holds: each piece's text, what it reaches
//! ([`crate::eval::CodeIndex::reach`]), and what the arguments it uses bring in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use rnix::TextRange;

use super::RawMachine;
use crate::db::Db;
use crate::eval::{CodeIndex, Evaluator, Limits, Pos, Thunk, ThunkOrigin, Value, canon_path};
use crate::files::{ClanFiles, ReadKind};
use crate::model::footprint::{Footprint, PieceKind, line_of, relative_to_root, text_hash};
use crate::model::{Clan, Known};
use crate::modules::system::{Evaluation, ImportRecord, ImportedModule, ReadModule};

/// The most pieces of code one footprint follows before it gives up (unbounded).
const MAX_WORK: usize = 100_000;

/// One piece of code to look at.
pub(super) struct Work {
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
    pub(super) fn at(
        path: String,
        range: Option<TextRange>,
        kind: PieceKind,
        follow: bool,
    ) -> Work {
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

/// A piece of code being followed: its file (absolute and relative), range and text.
struct Piece<'p> {
    path: &'p str,
    range: Option<TextRange>,
    text: &'p str,
    rel: &'p str,
    kind: PieceKind,
}

/// The functions whose arguments mean something known, by file (absolute path).
#[derive(Default, Clone)]
pub(super) struct Functions {
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
pub(super) struct Tracer<'t, 'a> {
    pub(super) ev: &'t Evaluator<'a>,
    db: &'a dyn Db,
    pub(super) files: &'t ClanFiles,
    pub(super) root: String,
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

impl<'t, 'a> Tracer<'t, 'a> {
    pub(super) fn new(
        ev: &'t Evaluator<'a>,
        db: &'a dyn Db,
        files: &'t ClanFiles,
        clan: &Clan,
        special: &[(Pos, bool)],
    ) -> Tracer<'t, 'a> {
        let root = files.root().to_string();
        let mut tracer = Tracer {
            ev,
            db,
            files,
            root: root.clone(),
            indexes: HashMap::new(),
            texts: HashMap::new(),
            functions: Functions::default(),
            path_files: HashSet::new(),
            outputs: None,
            special: Ok(BTreeMap::new()),
            input_reasons: match &clan.inputs {
                Known::Known(names) => names
                    .iter()
                    .map(|n| crate::modules::flake::unmodelled_input(n))
                    .collect(),
                Known::Unknown(_) => HashSet::new(),
            },
        };
        tracer.special = tracer.special_args(special);
        let flake_nix = format!("{}/flake.nix", root.trim_end_matches('/'));
        tracer.outputs = tracer
            .index(&flake_nix)
            .and_then(|i| i.root_attribute("outputs"))
            .map(|r| (flake_nix, r));
        tracer
    }

    /// The code of one evaluation (a flake service's).
    pub(super) fn evaluation(&mut self, evaluation: &Evaluation) -> Footprint {
        let mut footprint = Footprint::default();
        let mut work = Vec::new();
        let mut skip = HashMap::new();
        if let Some(failed) = &evaluation.failed {
            footprint.unbounded(format!("it could not be read ({})", failed.message));
        }
        let located = self.input_reasons.clone();
        self.imports(
            &evaluation.imports,
            &located,
            &mut footprint,
            &mut work,
            &mut skip,
        );
        for module in &evaluation.read {
            self.module(module, &mut footprint, &mut work, 0);
        }
        self.trace(&mut footprint, work, &skip);
        footprint
    }

    pub(super) fn text(&mut self, path: &str) -> Option<Arc<str>> {
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
    pub(super) fn file_of(&self, path: &str) -> String {
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

    pub(super) fn index(&mut self, path: &str) -> Option<Rc<CodeIndex>> {
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
    pub(super) fn note_functions(&mut self, read: &[ReadModule]) -> Vec<String> {
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
    pub(super) fn note_callbacks(&mut self, path: &str) {
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
    pub(super) fn machine(&mut self, raw: &RawMachine) -> Footprint {
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
            let unknown = self.imports(
                &evaluation.imports,
                &located,
                &mut footprint,
                &mut work,
                &mut skip,
            );
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
        imports: &[ImportRecord],
        located: &HashSet<String>,
        footprint: &mut Footprint,
        work: &mut Vec<Work>,
        skip: &mut HashMap<String, HashSet<TextRange>>,
    ) -> bool {
        let mut unknown_any = false;
        for record in imports {
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
    pub(super) fn trace(
        &mut self,
        footprint: &mut Footprint,
        mut work: Vec<Work>,
        skip: &HashMap<String, HashSet<TextRange>>,
    ) {
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
            let Some(range) = self.place(&w, &text, &rel, footprint) else {
                continue;
            };
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
            if w.follow {
                let at = Piece {
                    path: &w.path,
                    range,
                    text: &text,
                    rel: &rel,
                    kind: w.kind,
                };
                self.follow(&at, skip, footprint, &mut work);
            }
        }
    }

    /// Where a piece is: its range (`None`: the whole file), the set an attribute's name
    /// belongs to; `None` when it is only a name (its text then counted alone).
    fn place(
        &mut self,
        w: &Work,
        text: &str,
        rel: &str,
        footprint: &mut Footprint,
    ) -> Option<Option<TextRange>> {
        if !w.key {
            return Some(w.range);
        }
        let set = w
            .range
            .and_then(|r| self.index(&w.path).and_then(|i| i.set_of_key(r)));
        if set.is_some() {
            return Some(set);
        }
        // Not in a set clanc can find: the name's text counts alone.
        if let Some(r) = w.range
            && let Some(piece) = text.get(std::ops::Range::<usize>::from(r))
        {
            let line = line_of(text, usize::from(r.start()));
            footprint.add_piece(rel.to_string(), text_hash(piece), line, w.kind);
        }
        None
    }

    /// What a piece reaches: paths, code it uses, what its arguments bring in.
    fn follow(
        &mut self,
        at: &Piece,
        skip: &HashMap<String, HashSet<TextRange>>,
        footprint: &mut Footprint,
        work: &mut Vec<Work>,
    ) {
        let Some(index) = self.index(at.path) else {
            return;
        };
        let functions = self.functions.of(at.path);
        let no_skip = HashSet::new();
        let skipping = skip.get(at.path).unwrap_or(&no_skip);
        let Some(reach) = index.reach(at.range, skipping, &functions) else {
            return;
        };
        self.path_literals(at, &reach.paths, footprint, work);
        // Parts of it written elsewhere (merged attribute paths): their text counts.
        for spread in &reach.spread {
            work.push(Work::at(at.path.to_string(), Some(*spread), at.kind, false));
        }
        for captured in &reach.captured {
            work.push(Work::at(
                at.path.to_string(),
                Some(*captured),
                PieceKind::Used,
                true,
            ));
        }
        for argument in &reach.arguments {
            let line = line_of(at.text, usize::from(argument.range.start()));
            let rel = at.rel;
            match self.argument(at.path, &index, argument) {
                Effect::Nothing => {}
                Effect::WholeFile => {
                    work.push(Work::at(at.path.to_string(), None, PieceKind::File, true))
                }
                Effect::Anything(why) => footprint.unbounded(format!("{why} at {rel}:{line}")),
                Effect::Special(name) => match &self.special {
                    Ok(special) => {
                        for (path, range) in special.get(&name).into_iter().flatten() {
                            work.push(Work::at(path.clone(), Some(*range), PieceKind::Used, true));
                        }
                    }
                    Err(why) => footprint.unbounded(format!(
                        "it uses the module argument `{name}`, which may come from \
                         `specialArgs`, and {why}, at {rel}:{line}"
                    )),
                },
            }
        }
    }

    /// The paths a piece's path literals name (an interpolated one: the directory of its
    /// fixed start), and the `.nix` files among them, to follow.
    fn path_literals(
        &mut self,
        at: &Piece,
        literals: &[crate::eval::PathLiteral],
        footprint: &mut Footprint,
        work: &mut Vec<Work>,
    ) {
        let dir = at.path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        for literal in literals {
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
            let line = line_of(at.text, usize::from(literal.range.start()));
            if let Some(p) = relative_to_root(&self.root, &path) {
                footprint.add_path(p, true, format!("named at {}:{line}", at.rel));
            }
            if literal.interpolated {
                continue;
            }
            // A file it names may be imported by code clanc did not evaluate.
            let file = self.file_of(&path);
            if file.ends_with(".nix") {
                self.path_files.insert(file.clone());
                let mut w = Work::at(file, None, PieceKind::File, true);
                w.optional = true;
                work.push(w);
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
