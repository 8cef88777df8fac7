//! Builds the typed clan from a loaded workspace: evaluates the flake with the embedded
//! evaluator and the module system, then reads the clan's option tree, keeping the span of
//! every definition.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use rnix::{SyntaxNode, TextRange, TextSize};

use crate::db::{Db, Workspace};
use crate::diagnostics::{Diagnostic, Label, Severity, Span};
use crate::eval::{EvalError, Evaluator, FileId, Garbage, Limits, NixString, Pos, Thunk, Value};
use crate::files::ClanFiles;
use crate::modules::flake::{FlakeEvaluation, evaluate_flake};
use crate::modules::flake_lock::FlakeLock;
use crate::modules::known;
use crate::modules::system::{
    Def, EvalSettings, Evaluation, ImportedModule, ModuleContext, ModuleDiagnostic, ModuleFailure,
    ModuleSource, Node, NodeKind, evaluate,
};
use crate::syntax::locate;

use super::clan::*;
use super::freshness::{ModelInputs, WorkspaceFacts};
use super::unique_names::UniqueNames;
use crate::diagnostics::Code;
use crate::services::flake_service::read_flake_service;

/// How deep settings values are read into `Data`.
const MAX_DATA_DEPTH: usize = 64;

/// Builds the model of the clan at `root` (an absolute path) from the workspace's files.
pub fn build_model(db: &dyn Db, root: &str, workspace: Workspace) -> Clan {
    build_model_keeping_garbage(db, root, workspace).0
}

/// [`build_model`], with the evaluation behind the model not freed yet (the caller drops the
/// [`Garbage`] when freeing it costs nothing that matters: after publishing, or never), and
/// what the model was built from.
pub fn build_model_keeping_garbage(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
) -> (Clan, Garbage, ModelInputs) {
    let files = ClanFiles::new(db, root, workspace);
    let facts = WorkspaceFacts::of(db, workspace);
    let inputs = |files: &ClanFiles, ev: &Evaluator| ModelInputs::new(root, &facts, files, ev);
    let mut ev = Evaluator::new(db, &files, Limits::default());
    let lock = facts
        .lock
        .as_ref()
        .and_then(|text| FlakeLock::parse(text).ok());
    let mut clan = Clan {
        clan_core_rev: (lock.as_ref().and_then(FlakeLock::clan_core)).and_then(|l| l.rev.clone()),
        clan_core_last_modified: (lock.as_ref().and_then(FlakeLock::clan_core))
            .and_then(|l| l.last_modified),
        ..Clan::default()
    };
    if !facts.has_flake {
        clan.inputs = Known::Unknown("the directory has no flake.nix".into());
        let inputs = inputs(&files, &ev);
        return (clan, ev.into_garbage(), inputs);
    }
    let flake = evaluate_flake(&mut ev, root, lock.as_ref());
    clan.inputs = Known::Known(flake.inputs.clone());
    let mut reader = Reader {
        db,
        ev: &mut ev,
        files: &files,
        clan: &mut clan,
        trees: RefCell::default(),
        relative_paths: RefCell::default(),
        missing_references: Vec::new(),
        root_path: String::new(),
    };
    reader.clan.service_sources = service_sources(&files, lock.as_ref(), &flake);
    match (flake.clans.first(), &flake.failed) {
        // Definitions of the module that failed are missing: reading the rest would find
        // machines without their tags, roles without their machines (errors that are not).
        (_, Some(failure)) => reader.clan_unknown(failure),
        (Some(evaluation), None) => reader.read_clan(&flake, evaluation),
        (None, None) => reader.clan.unknowns.push(UnknownNote {
            subject: "clan".into(),
            reason: "the flake's outputs evaluate no clan clanc can see (no clan-core flake module, no `clan-core.lib.clan` call)".into(),
            span: None,
        }),
    }
    reader.read_data_files(facts.lock.as_deref());
    reader.collect_context(&flake.ctx);
    drop(reader);
    let inputs = inputs(&files, &ev);
    let mut garbage = ev.into_garbage();
    garbage.keep(flake);
    (clan, garbage, inputs)
}

pub(super) struct Reader<'r, 'a> {
    db: &'a dyn Db,
    pub(super) ev: &'r mut Evaluator<'a>,
    pub(super) files: &'r ClanFiles,
    pub(super) clan: &'r mut Clan,
    /// Syntax trees of the files values are located in (parsed once per build).
    trees: RefCell<HashMap<FileId, Option<SyntaxNode>>>,
    /// The clan-relative path of each file spans point into (`None`: outside the clan), one
    /// shared string per file.
    relative_paths: RefCell<HashMap<FileId, Option<Arc<str>>>>,
    /// References to deferred modules nothing defines: the checker reports them (M001), so
    /// the evaluation error they cause is not reported again.
    missing_references: Vec<Span>,
    /// The path of the clan's root node (`clan` under flake-parts, empty for `lib.clan`):
    /// notes name what is below it relative to it (`inventory.machines`).
    root_path: String,
}

impl Reader<'_, '_> {
    /// A position as a span of a clan file (`None` for clanc's embedded files and files
    /// outside the clan).
    fn span(&self, pos: Option<Pos>) -> Option<Span> {
        let pos = pos?;
        let rel = self
            .relative_paths
            .borrow_mut()
            .entry(pos.file)
            .or_insert_with(|| {
                let path = self.ev.file_path(pos.file);
                self.files.relative(&path).map(Arc::from)
            })
            .clone()?;
        Some(Span::new(rel, pos.range))
    }

    /// A string's text for the model, and the literal it is a copy of when that literal is in
    /// the clan (the model then holds the copy with that span, [`Spanned::literal`]). A copy
    /// of a literal outside the clan counts as reading it: no span could find the copy.
    fn copy_string(&self, s: &NixString) -> (String, Option<Span>) {
        let (text, from) = s.copy_out();
        let literal = self.span(from);
        if from.is_some() && literal.is_none() {
            s.text();
        }
        (text, literal)
    }

    /// The syntax tree of a file the evaluator read (parsed once, by the database).
    fn tree(&self, file: FileId) -> Option<SyntaxNode> {
        self.trees
            .borrow_mut()
            .entry(file)
            .or_insert_with(|| {
                let path = self.ev.file_path(file);
                let source = crate::eval::Files::source(self.files, self.db, &path).ok()?;
                Some(crate::db::parse(self.db, source).syntax())
            })
            .clone()
    }

    /// The value bound to the attribute named at `key`.
    fn value_of_key(&self, key: Option<Pos>) -> Option<Pos> {
        let key = key?;
        let range = locate::value_of_key(&self.tree(key.file)?, key.range)?;
        Some(Pos {
            file: key.file,
            range,
        })
    }

    /// The elements of the list written at `list`.
    fn list_items(&self, list: Option<Pos>) -> Vec<Pos> {
        let Some(list) = list else { return Vec::new() };
        let Some(tree) = self.tree(list.file) else {
            return Vec::new();
        };
        locate::list_elements(&tree, list.range)
            .unwrap_or_default()
            .into_iter()
            .map(|range| Pos {
                file: list.file,
                range,
            })
            .collect()
    }

    /// Where a definition's value is written.
    fn def_value_pos(&self, def: &Def) -> Option<Pos> {
        def.value_pos.or_else(|| self.value_of_key(def.pos))
    }

    /// The span of a definition: its position, or for definitions that come from a clan
    /// file without positions (inventory.json), the file itself.
    fn def_span(&self, def: &Def) -> Option<Span> {
        if let Some(span) = self.span(def.pos) {
            return Some(span);
        }
        let file = def.file.as_deref()?;
        let rel = self.files.relative(file)?;
        Some(Span::new(rel, Default::default()))
    }

    fn first_span(&self, node: &Node) -> Option<Span> {
        node.defs.iter().find_map(|d| self.def_span(d))
    }

    /// Where the first definition's value is written (its key when that is unknown).
    fn value_span(&self, node: &Node) -> Option<Span> {
        node.defs.iter().find_map(|d| {
            self.span(self.def_value_pos(d))
                .or_else(|| self.def_span(d))
        })
    }

    fn note(&mut self, subject: &str, reason: String, span: Option<Span>) {
        if !self
            .clan
            .unknowns
            .iter()
            .any(|n| n.subject == subject && n.reason == reason)
        {
            self.clan.unknowns.push(UnknownNote {
                subject: subject.to_string(),
                reason,
                span,
            });
        }
    }

    fn force(&mut self, thunk: &Thunk) -> Result<Value, String> {
        match self.ev.force(thunk, None) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.report_error(e)),
        }
    }

    /// C011 for the element at `index` of a definition of the list-of-strings option at
    /// `path` that is not a string (clan-core's evaluation fails on it). Unknown values pass.
    fn not_a_string(&mut self, path: &str, index: usize, value: &Value, span: Option<Span>) {
        if matches!(value, Value::Unknown(_)) {
            return;
        }
        let Some(span) = span else { return };
        let message = format!(
            "`{path}` must be of type `list of string`, but its element {} is {}",
            index + 1,
            crate::modules::types::describe_value(value)
        );
        push_unique(
            &mut self.clan.diagnostics,
            Diagnostic::new(Code::C011, Severity::Error, message, span),
        );
    }

    fn report_error(&mut self, e: Box<EvalError>) -> String {
        let message = e.message.clone();
        let files = self.files;
        let ev = &*self.ev;
        let span_of = |pos: Pos| -> Option<Span> {
            let path = ev.file_path(pos.file);
            files.relative(&path).map(|rel| Span::new(rel, pos.range))
        };
        if let Some(d) = error_diagnostic(&e, span_of) {
            push_unique(&mut self.clan.diagnostics, d);
        }
        message
    }

    /// The value of an option node as a string, with the span of its first definition.
    fn string_at(
        &mut self,
        node: Option<Rc<Node>>,
        subject: &str,
    ) -> Option<Spanned<Known<String>>> {
        self.string_of(node, subject, false)
    }

    /// [`Self::string_at`] for a string the model keeps as it is (nothing else is computed
    /// from it while building the model): a copy of a literal knows the literal.
    fn copied_string_at(
        &mut self,
        node: Option<Rc<Node>>,
        subject: &str,
    ) -> Option<Spanned<Known<String>>> {
        self.string_of(node, subject, true)
    }

    fn string_of(
        &mut self,
        node: Option<Rc<Node>>,
        subject: &str,
        copied: bool,
    ) -> Option<Spanned<Known<String>>> {
        let node = node?;
        let span = self.value_span(&node);
        let mut literal = None;
        let value = match self.force(&node.value_thunk()) {
            Ok(Value::String(s)) if copied => {
                let (text, from) = self.copy_string(&s);
                literal = from;
                Known::Known(text)
            }
            Ok(Value::String(s)) => Known::Known(s.text().to_string()),
            Ok(Value::Null) => return None,
            Ok(Value::Unknown(u)) => {
                self.note(subject, u.reason.clone(), span.clone());
                Known::Unknown(u.reason.clone())
            }
            Ok(other) => Known::Unknown(format!("{} is {}", subject, other.describe())),
            Err(e) => Known::Unknown(e),
        };
        Some(Spanned {
            literal,
            ..Spanned::new(value, span)
        })
    }

    fn bool_at(&mut self, node: Option<Rc<Node>>) -> Known<bool> {
        let Some(node) = node else {
            return Known::Unknown("not declared".into());
        };
        match self.force(&node.value_thunk()) {
            Ok(Value::Bool(b)) => Known::Known(b),
            Ok(Value::Unknown(u)) => Known::Unknown(u.reason.clone()),
            Ok(other) => Known::Unknown(format!("not a Boolean: {}", other.describe())),
            Err(e) => Known::Unknown(e),
        }
    }

    /// Why some definitions of a node may be missing: one failed (reported) or is unknown.
    fn open_reason(&mut self, node: &Option<Rc<Node>>) -> Option<String> {
        node.as_ref()?.children(self.ev)?.open.clone()
    }

    /// The names below a node (sorted).
    pub(super) fn keys(&mut self, node: &Option<Rc<Node>>) -> Vec<(String, Rc<Node>)> {
        let Some(node) = node else { return Vec::new() };
        match node.children(self.ev) {
            Some(children) => {
                if let Some(reason) = &children.open {
                    let span = self.first_span(node);
                    let subject = (node.path.strip_prefix(&self.root_path))
                        .and_then(|p| p.strip_prefix('.'))
                        .unwrap_or(&node.path)
                        .to_string();
                    self.note(&subject, reason.clone(), span);
                }
                let mut out = Vec::new();
                for (k, n) in children.map.iter() {
                    let keep = match n.kind {
                        NodeKind::Option(_) => n.is_defined() || has_default(n),
                        // An element whose definitions all vanished under `mkIf false`.
                        NodeKind::Element(_) => {
                            let r = n.resolved(self.ev);
                            !r.defs.is_empty() || r.uncertain.is_some()
                        }
                        _ => true,
                    };
                    if keep {
                        out.push((k.to_string(), n.clone()));
                    }
                }
                out
            }
            None => Vec::new(),
        }
    }

    pub(super) fn child(&mut self, node: &Option<Rc<Node>>, key: &str) -> Option<Rc<Node>> {
        let node = node.as_ref()?;
        node.children(self.ev)?.map.get(key).cloned()
    }

    pub(super) fn path(&mut self, node: &Option<Rc<Node>>, keys: &[&str]) -> Option<Rc<Node>> {
        let mut node = node.clone();
        for k in keys {
            node = self.child(&node, k);
        }
        node
    }

    /// The user's definitions of a node (defaults and clanc's own files left out).
    fn user_defs(&self, node: &Node) -> Vec<Def> {
        node.defs
            .iter()
            .filter(|d| !is_builtin_def(self.ev, d))
            .cloned()
            .collect()
    }

    // ---- the clan ---------------------------------------------------------------------

    /// The clan as unknown: nothing read of it is kept (what the model lacks would be
    /// reported as mistakes: machines without their tags, roles without their machines).
    fn clan_unknown(&mut self, failure: &ModuleFailure) {
        let span = self.span(failure.pos);
        let module = match &span {
            Some(span) => format!("`{}`", span.file),
            None => "a module of it".to_string(),
        };
        *self.clan = Clan {
            inputs: self.clan.inputs.clone(),
            clan_core_rev: self.clan.clan_core_rev.clone(),
            clan_core_last_modified: self.clan.clan_core_last_modified,
            ..Clan::default()
        };
        self.clan.unknowns.push(UnknownNote {
            subject: "clan".into(),
            reason: format!(
                "{module} could not be read ({}), so what it defines is unknown",
                failure.message
            ),
            span,
        });
    }

    fn read_clan(&mut self, flake: &FlakeEvaluation, evaluation: &Rc<Evaluation>) {
        self.root_path = evaluation.root.path.clone();
        let root = Some(evaluation.root.clone());
        let inventory = self.child(&root, "inventory");
        self.read_meta(&root, &inventory);
        if let Some(node) = self.path(&root, &["vars", "settings", "secretStore"])
            && node.is_defined()
        {
            self.clan.secret_store = self
                .string_at(Some(node), "vars.settings.secretStore")
                .map(|s| s.value);
        }
        self.read_machines(&root, &inventory);
        self.read_tags(&inventory);
        self.read_instances(&inventory);
        // A file the inventory's values come from does not parse (`machines.x = import
        // ./x.nix;`): the machine, instance or tag it holds is missing or incomplete.
        if let Some(error) = self.ev.first_unreadable_import() {
            let failure = ModuleFailure::of(error);
            self.clan_unknown(&failure);
            return;
        }
        // Names were made unique as they were read (finding two equal read both).
        let _ = self.clan.resolve_tags();
        if let Some(services) = self.child(&inventory, "services") {
            let defs = self.user_defs(&services);
            if let Some(def) = defs.first() {
                self.clan.legacy_services = self.def_span(def);
                let value = services.value_thunk();
                self.clan.legacy_services_empty =
                    matches!(self.ev.force(&value, None), Ok(Value::Attrs(a)) if a.is_empty());
            }
        }
        let modules = self.child(&root, "modules");
        for (name, node) in self.keys(&modules) {
            let span = self.first_span(&node);
            let reported = flake.ctx.diagnostics.borrow().len();
            let service = read_flake_service(self.ev, &flake.ctx, &node, &name);
            // clan-core imports a service of `clan.modules` for the instances that use it:
            // what reading one no instance certainly uses fails of (`./absent.nix`, a type
            // error) is no certain error, only why the service is unknown.
            let failed = flake.ctx.diagnostics.borrow().len() > reported;
            if failed && !self.uses_flake_service(&inventory, &name) {
                let dropped: Vec<_> = flake
                    .ctx
                    .diagnostics
                    .borrow_mut()
                    .drain(reported..)
                    .collect();
                if let Some(first) = dropped.first() {
                    self.note(
                        &format!("clan.modules.{name}"),
                        format!(
                            "no instance uses it, and reading it failed: {}",
                            first.message
                        ),
                        span.clone(),
                    );
                }
            }
            let role_spans = service
                .role_positions
                .iter()
                .filter_map(|(r, p)| self.span(Some(*p)).map(|s| (r.clone(), s)))
                .collect();
            self.clan.flake_services.insert(
                name.clone(),
                FlakeService {
                    name,
                    span,
                    service: match service.service {
                        Ok(s) => Known::Known(s),
                        Err(reason) => Known::Unknown(reason),
                    },
                    role_spans,
                },
            );
        }
        self.read_machine_modules(flake, &root, &evaluation.config);
    }

    /// Whether an instance certainly takes its module from this flake's
    /// `clan.modules.<service>`: its `module.input` is "self" and its module name (the
    /// instance's name by default) is the service's, both known. This reads the names (an
    /// edit of one builds the model again rather than patching the copy), so it is asked
    /// only about a service whose reading failed.
    fn uses_flake_service(&mut self, inventory: &Option<Rc<Node>>, service: &str) -> bool {
        let instances = self.child(inventory, "instances");
        for (name, node) in self.keys(&instances) {
            let n = Some(node);
            let input_node = self.path(&n, &["module", "input"]);
            let input = self.string_at(input_node, &format!("instances.{name}.module.input"));
            if !matches!(input.map(|s| s.value), Some(Known::Known(i)) if i == "self") {
                continue;
            }
            let name_node = self.path(&n, &["module", "name"]);
            let module = self
                .string_at(name_node, &format!("instances.{name}.module.name"))
                .map_or(Known::Known(name), |s| s.value);
            if module == Known::Known(service.to_string()) {
                return true;
            }
        }
        false
    }

    fn read_meta(&mut self, root: &Option<Rc<Node>>, inventory: &Option<Rc<Node>>) {
        let meta = self.child(root, "meta");
        let inv_meta = self.child(inventory, "meta");
        let pick = |r: &mut Self, key: &str| -> Option<Spanned<Known<String>>> {
            let a = r.child(&meta, key);
            let user_defined = a.as_ref().is_some_and(|n| !r.user_defs(n).is_empty());
            let node = if user_defined {
                a
            } else {
                r.child(&inv_meta, key).or(a)
            };
            r.copied_string_at(node, &format!("meta.{key}"))
        };
        self.clan.meta.name = pick(self, "name");
        self.clan.meta.domain = pick(self, "domain");
        self.clan.meta.description = pick(self, "description");
    }

    fn read_machines(&mut self, root: &Option<Rc<Node>>, inventory: &Option<Rc<Node>>) {
        let inv_machines = self.child(inventory, "machines");
        // A failed (reported) definition of `inventory` or `inventory.machines` may have held
        // any machine.
        let inventory_failed =
            (self.open_reason(&inv_machines)).or_else(|| self.open_reason(inventory));
        for (name, node) in self.keys(&inv_machines) {
            let defs = self.user_defs(&node);
            let mut sources = Vec::new();
            let mut span = None;
            for def in &defs {
                let from_json = def
                    .file
                    .as_deref()
                    .is_some_and(|f| f.ends_with("/inventory.json"));
                let from_folder = def.file.as_deref().is_some_and(|f| {
                    self.files
                        .relative(f)
                        .is_some_and(|r| r.starts_with("machines/"))
                });
                let source = if from_json {
                    MachineSource::InventoryJson
                } else if from_folder {
                    MachineSource::Folder
                } else {
                    MachineSource::Inventory
                };
                if !sources.contains(&source) {
                    sources.push(source);
                }
                if span.is_none() {
                    span = match source {
                        MachineSource::Folder => self.folder_span(&name),
                        MachineSource::InventoryJson => self.json_key_span(&["machines", &name]),
                        _ => self.def_span(def),
                    };
                }
            }
            let n = Some(node.clone());
            // A definition of the machine that failed (reported) may have set any option; so
            // may a failed definition of `inventory.machines` for a machine the user's
            // inventory does not define (one of `clan.machines`, which clan-core adds).
            let failed = self
                .open_reason(&n)
                .or_else(|| defs.is_empty().then(|| inventory_failed.clone()).flatten());
            let class_node = self.child(&n, "machineClass");
            let class_span = class_node.as_ref().and_then(|c| {
                let defs = self.user_defs(c);
                defs.first().and_then(|d| self.def_span(d))
            });
            let class = match (&failed, &class_span) {
                // Only the default, and a failed definition may have set it.
                (Some(reason), None) => Known::Unknown(reason.clone()),
                _ => match class_node.map(|c| self.force(&c.value_thunk())) {
                    Some(Ok(Value::String(s))) => match MachineClass::parse(s.text()) {
                        Some(c) => Known::Known(c),
                        None => Known::Unknown(format!(
                            "machineClass {:?} is neither nixos nor darwin",
                            s.text()
                        )),
                    },
                    Some(Ok(Value::Unknown(u))) => Known::Unknown(u.reason.clone()),
                    Some(Ok(_)) | None => Known::Known(MachineClass::Nixos),
                    Some(Err(e)) => Known::Unknown(e),
                },
            };
            let tags = {
                let node = self.child(&n, "tags");
                let mut tags = self.list_of_strings(node.clone(), true);
                if let Some(reason) = &failed {
                    tags.add_unknown(reason);
                }
                if let Some(reason) = &tags.unknown {
                    let span = node.and_then(|n| self.first_span(&n));
                    self.note(&format!("machines.{name}.tags"), reason.clone(), span);
                }
                tags
            };
            let description = {
                let node = self.child(&n, "description");
                self.copied_string_at(node, &format!("machines.{name}.description"))
            };
            let target_host = {
                let node = self.path(&n, &["deploy", "targetHost"]);
                self.copied_string_at(node, &format!("machines.{name}.deploy.targetHost"))
            };
            let build_host = {
                let node = self.path(&n, &["deploy", "buildHost"]);
                self.copied_string_at(node, &format!("machines.{name}.deploy.buildHost"))
            };
            self.clan.machines.insert(
                name.clone(),
                Machine {
                    name,
                    span,
                    sources,
                    class: Spanned::new(class, class_span),
                    tags: tags.list,
                    tags_unknown: tags.unknown,
                    description,
                    target_host,
                    build_host,
                    host_platform: None,
                    imports: Vec::new(),
                    generators: BTreeMap::new(),
                    distributed: Vec::new(),
                    services_failed: None,
                    sops_secrets: Vec::new(),
                    sops_key_elsewhere: None,
                },
            );
        }
        // `clan.machines.<m>` names a machine too.
        let machines = self.child(root, "machines");
        for (name, node) in self.keys(&machines) {
            let defs = self.user_defs(&node);
            let Some(def) = defs.first() else { continue };
            let from_folder = def.file.as_deref().is_some_and(|f| {
                self.files
                    .relative(f)
                    .is_some_and(|r| r.starts_with("machines/"))
            });
            let span = if from_folder {
                self.folder_span(&name)
            } else {
                self.def_span(def)
            };
            let source = if from_folder {
                MachineSource::Folder
            } else {
                MachineSource::ClanMachines
            };
            let m = self
                .clan
                .machines
                .entry(name.clone())
                .or_insert_with(|| Machine {
                    name: name.clone(),
                    span: span.clone(),
                    sources: Vec::new(),
                    class: Spanned::new(
                        match &inventory_failed {
                            Some(reason) => Known::Unknown(reason.clone()),
                            None => Known::Known(MachineClass::Nixos),
                        },
                        None,
                    ),
                    tags: Vec::new(),
                    tags_unknown: inventory_failed.clone(),
                    description: None,
                    target_host: None,
                    build_host: None,
                    host_platform: None,
                    imports: Vec::new(),
                    generators: BTreeMap::new(),
                    distributed: Vec::new(),
                    services_failed: None,
                    sops_secrets: Vec::new(),
                    sops_key_elsewhere: None,
                });
            if !m.sources.contains(&source) {
                m.sources.push(source);
            }
            if m.span.is_none() {
                m.span = span;
            }
        }
    }

    /// A machine folder's span: its configuration.nix, else the folder.
    fn folder_span(&self, name: &str) -> Option<Span> {
        for file in ["configuration.nix", "default.nix"] {
            let path = format!("{}/machines/{name}/{file}", self.files.root());
            if let Some(rel) = self.files.relative(&path)
                && crate::eval::Files::file_type(self.files, &path).is_some()
            {
                return Some(Span::new(rel, Default::default()));
            }
        }
        Some(Span::new(format!("machines/{name}"), Default::default()))
    }

    /// The span of a key path in inventory.json (found in its text; JSON values carry no
    /// positions in the evaluator).
    fn json_key_span(&self, keys: &[&str]) -> Option<Span> {
        let text = self.inventory_json()?;
        let range = super::json_locate::locate_key(&text, keys)?;
        Some(Span::new("inventory.json", range))
    }

    /// The text of `inventory.json` as the database holds it (no disk read: the loader
    /// loaded it, and an editor may have changed it).
    fn inventory_json(&self) -> Option<std::sync::Arc<str>> {
        let path = format!("{}/inventory.json", self.files.root());
        let file = crate::eval::Files::source(self.files, self.db, &path).ok()?;
        Some(file.text(self.db).clone())
    }

    /// `flake.lock` and (when the evaluation read it) `inventory.json` as Nix reads them:
    /// one that Nix cannot read leaves the clan unknown, as a module that does not parse.
    fn read_data_files(&mut self, lock: Option<&str>) {
        let mut found = Vec::new();
        if let Some(text) = lock {
            found.push((
                "flake.lock",
                super::data_files::flake_lock("flake.lock", text),
            ));
        }
        let json = format!("{}/inventory.json", self.files.root());
        if self.files.has_read(&json)
            && let Some(text) = self.inventory_json()
        {
            let findings = super::data_files::inventory_json("inventory.json", &text);
            found.push(("inventory.json", findings));
        }
        if let Some((file, reason)) =
            (found.iter()).find_map(|(file, f)| f.unreadable.as_ref().map(|r| (*file, r.clone())))
        {
            *self.clan = Clan {
                inputs: self.clan.inputs.clone(),
                clan_core_rev: self.clan.clan_core_rev.clone(),
                clan_core_last_modified: self.clan.clan_core_last_modified,
                ..Clan::default()
            };
            self.clan.unknowns.push(UnknownNote {
                subject: "clan".into(),
                reason: format!("`{file}` could not be read ({reason}), so the clan is unknown"),
                span: None,
            });
        }
        for (_, findings) in found {
            for d in findings.diagnostics {
                push_unique(&mut self.clan.diagnostics, d);
            }
        }
    }

    /// Where in inventory.json a diagnostic of the module system belongs, when it is about
    /// a definition from there (clanc's model of clan-core imports the file as one module,
    /// whose values carry no positions): a wrong type at the key of its option path.
    fn inventory_json_span(&self, d: &ModuleDiagnostic) -> Option<Span> {
        let pos = d.pos?;
        let path = self.ev.file_path(pos.file);
        let model = known::source(&path).filter(|_| path == known::path("clan-core.nix"))?;
        let start = model.find("jsonModules =")?;
        let end = start + model[start..].find("};")?;
        let range = TextRange::new(TextSize::from(start as u32), TextSize::from(end as u32));
        if !range.contains_range(pos.range) {
            return None;
        }
        let text = self.inventory_json()?;
        let option = d.message.split('`').nth(1).unwrap_or_default();
        let below = match option.find(".inventory.") {
            Some(i) => &option[i + ".inventory.".len()..],
            None => option.strip_prefix("inventory.").unwrap_or_default(),
        };
        let at = super::json_locate::locate_dotted(&text, below).unwrap_or_default();
        Some(Span::new("inventory.json", at))
    }

    /// A list-of-strings option (a machine's `tags`, a generator's `dependencies`) with the
    /// span of each element the user wrote, each once. With `copies`, a string the user wrote
    /// is kept as a copy of its literal (an edit of a tag is then applied to the model,
    /// [`Clan::resolve_tags`]), and the merged value is not forced unless a definition is not
    /// a plain list: clan-core's `apply = lib.unique` on tags would compare, that is read,
    /// every element. An element or definition that is unknown or fails (reported) makes
    /// [`UniqueNames::unknown`] say so.
    fn list_of_strings(&mut self, node: Option<Rc<Node>>, copies: bool) -> UniqueNames {
        let mut names = UniqueNames::default();
        let Some(node) = node else { return names };
        // The span for the merged value's elements, when it must be read.
        let mut read_merged: Option<Option<Span>> = None;
        for def in self.user_defs(&node) {
            let def_span = self.def_span(&def);
            let written = self.list_items(self.def_value_pos(&def));
            match self.force(&def.value) {
                Ok(Value::List(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let pos = self.ev.thunk_pos(item).or_else(|| written.get(i).copied());
                        let span = self.span(pos).or_else(|| def_span.clone());
                        match self.force(item) {
                            Ok(Value::String(s)) if copies => {
                                names.add_copy(&s, self.copy_string(&s), span)
                            }
                            Ok(Value::String(s)) => names.add_read(&s, span),
                            Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                            Ok(other) => self.not_a_string(&node.path, i, &other, span),
                            Err(e) => names.add_unknown(&e),
                        }
                    }
                }
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                // mkIf/mkMerge around the list, or not a list (the merged value reports its
                // type).
                Ok(_) => {
                    read_merged.get_or_insert(def_span);
                }
                Err(e) => names.add_unknown(&e),
            }
        }
        // What clanc's clan-core adds (the tags whose `inventory.tags` list names the
        // machine): from its own definitions, without a span of their own.
        let mut added = Vec::new();
        if read_merged.is_none() {
            let builtin: Vec<Def> = (node.defs.iter())
                .filter(|d| is_builtin_def(self.ev, d))
                .cloned()
                .collect();
            for def in builtin {
                match self.force(&def.value) {
                    Ok(Value::List(items)) => added.extend(items.iter().cloned()),
                    Ok(_) => read_merged = Some(None),
                    Err(e) => names.add_unknown(&e),
                }
            }
        }
        let span = match read_merged {
            Some(span) => {
                added = match self.force(&node.value_thunk()) {
                    Ok(Value::List(items)) => items.iter().cloned().collect(),
                    Ok(Value::Unknown(u)) => {
                        names.add_unknown(&u.reason);
                        Vec::new()
                    }
                    // Not a list: the module system reports the type.
                    Ok(other) => {
                        names.add_unknown(&format!("`{}` is {}", node.path, other.describe()));
                        Vec::new()
                    }
                    Err(e) => {
                        names.add_unknown(&e);
                        Vec::new()
                    }
                };
                span
            }
            None => None,
        };
        for item in &added {
            match self.force(item) {
                Ok(Value::String(s)) => names.add_read(&s, span.clone()),
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                // Not a string: reported where the element is written (or by the module
                // system's type check of the merged value).
                Ok(_) => {}
                Err(e) => names.add_unknown(&e),
            }
        }
        names
    }

    fn read_tags(&mut self, inventory: &Option<Rc<Node>>) {
        let tags = self.child(inventory, "tags");
        for (name, node) in self.keys(&tags) {
            let computed = matches!(name.as_str(), "all" | "nixos" | "darwin");
            let span = if computed {
                None
            } else {
                self.first_span(&node)
            };
            let members = match self.force(&node.value_thunk()) {
                Ok(Value::List(items)) => {
                    let mut names = BTreeSet::new();
                    let mut unknown = None;
                    for item in items.iter() {
                        match self.force(item) {
                            Ok(Value::String(s)) => {
                                names.insert(s.text().to_string());
                            }
                            Ok(Value::Unknown(u)) => unknown = Some(u.reason.clone()),
                            Ok(_) => {}
                            Err(e) => unknown = Some(e),
                        }
                    }
                    match unknown {
                        Some(reason) => Known::Unknown(reason),
                        None => Known::Known(names.into_iter().collect()),
                    }
                }
                Ok(Value::Unknown(u)) => Known::Unknown(u.reason.clone()),
                Ok(other) => Known::Unknown(format!("tag `{name}` is {}", other.describe())),
                Err(e) => Known::Unknown(e),
            };
            if let Known::Unknown(reason) = &members {
                self.note(
                    &format!("inventory.tags.{name}"),
                    reason.clone(),
                    span.clone(),
                );
            }
            self.clan.tags.insert(
                name.clone(),
                Tag {
                    name,
                    listed: Some(members.clone()),
                    members,
                    span,
                    computed,
                },
            );
        }
    }

    fn read_instances(&mut self, inventory: &Option<Rc<Node>>) {
        let instances = self.child(inventory, "instances");
        for (name, node) in self.keys(&instances) {
            let span = self.instance_span(&node, &name);
            let n = Some(node.clone());
            let module_name_node = self.path(&n, &["module", "name"]);
            let defaulted = module_name_node
                .as_ref()
                .is_none_or(|m| self.user_defs(m).is_empty());
            // A definition of the instance or its `module` that failed (reported) may have set
            // `module.name`.
            let module_node = self.child(&n, "module");
            let failed = self
                .open_reason(&n)
                .or_else(|| self.open_reason(&module_node));
            let module_name = match failed {
                Some(reason) if defaulted => {
                    let subject = format!("instances.{name}.module.name");
                    self.note(&subject, reason.clone(), span.clone());
                    Spanned::new(Known::Unknown(reason), span.clone())
                }
                _ => match self
                    .copied_string_at(module_name_node, &format!("instances.{name}.module.name"))
                {
                    Some(mut s) => {
                        if defaulted {
                            s.span = span.clone();
                        }
                        s
                    }
                    None => Spanned::new(Known::Known(name.clone()), span.clone()),
                },
            };
            let module_input = {
                let node = self.path(&n, &["module", "input"]);
                self.copied_string_at(node, &format!("instances.{name}.module.input"))
            };
            let mut roles = BTreeMap::new();
            let roles_node = self.child(&n, "roles");
            for (role_name, role_node) in self.keys(&roles_node) {
                let role = self.read_role(&name, &role_name, &role_node);
                roles.insert(role_name, role);
            }
            self.clan.instances.insert(
                name.clone(),
                Instance {
                    name,
                    span,
                    module_name,
                    module_name_defaulted: defaulted,
                    module_input,
                    roles,
                },
            );
        }
    }

    fn instance_span(&self, node: &Node, name: &str) -> Option<Span> {
        let defs = self.user_defs(node);
        let def = defs.first()?;
        let from_json = def
            .file
            .as_deref()
            .is_some_and(|f| f.ends_with("/inventory.json"));
        if from_json && (def.pos.is_none() || is_builtin_pos(self.ev, def.pos)) {
            return self.json_key_span(&["instances", name]);
        }
        self.def_span(def)
    }

    fn read_role(&mut self, instance: &str, name: &str, node: &Rc<Node>) -> Role {
        let n = Some(node.clone());
        let subject = format!("instances.{instance}.roles.{name}");
        let span = {
            let defs = self.user_defs(node);
            match defs.first() {
                Some(d)
                    if d.file
                        .as_deref()
                        .is_some_and(|f| f.ends_with("/inventory.json"))
                        && d.pos.is_none_or(|p| is_builtin_pos(self.ev, Some(p))) =>
                {
                    self.json_key_span(&["instances", instance, "roles", name])
                }
                Some(d) => self.def_span(d),
                None => None,
            }
        };
        let mut machines = BTreeMap::new();
        let machines_node = self.child(&n, "machines");
        let machines_unknown = self.open_reason(&machines_node);
        for (m, m_node) in self.keys(&machines_node) {
            let defs = self.user_defs(&m_node);
            let m_span = match defs.first() {
                Some(d)
                    if d.file
                        .as_deref()
                        .is_some_and(|f| f.ends_with("/inventory.json")) =>
                {
                    self.json_key_span(&["instances", instance, "roles", name, "machines", &m])
                }
                Some(d) => self.def_span(d),
                None => None,
            };
            let settings = self.settings(
                Some(m_node.clone()),
                &format!("{subject}.machines.{m}.settings"),
            );
            machines.insert(
                m.clone(),
                RoleMachine {
                    name: m,
                    span: m_span,
                    settings,
                },
            );
        }
        let tags = {
            let node = self.child(&n, "tags");
            self.role_tags(node, instance, name)
        };
        let settings = self.settings(n.clone(), &format!("{subject}.settings"));
        let extra_modules = {
            let node = self.child(&n, "extraModules");
            self.extra_modules(node)
        };
        Role {
            name: name.to_string(),
            span,
            machines,
            tags: tags.list,
            tags_unknown: tags.unknown,
            machines_unknown,
            settings,
            extra_modules,
            // `Clan::resolve_tags`, once every tag is known
            resolved: Known::Known(Vec::new()),
        }
    }

    /// A role's `tags`: a list of names or a set whose keys are names.
    fn role_tags(&mut self, node: Option<Rc<Node>>, instance: &str, role: &str) -> UniqueNames {
        let mut names = UniqueNames::default();
        let Some(node) = node else { return names };
        // The span for the merged value's names, when a definition is wrapped (`mkIf`, ...).
        let mut read_merged: Option<Option<Span>> = None;
        for def in self.user_defs(&node) {
            let from_json = def
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("/inventory.json"));
            let written = self.list_items(self.def_value_pos(&def));
            match self.force(&def.value) {
                Ok(Value::List(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let pos = self.ev.thunk_pos(item).or_else(|| written.get(i).copied());
                        let span = if from_json {
                            self.json_index_span(&["instances", instance, "roles", role, "tags"], i)
                        } else {
                            self.span(pos).or_else(|| self.def_span(&def))
                        };
                        match self.force(item) {
                            Ok(Value::String(s)) => names.add_copy(&s, self.copy_string(&s), span),
                            Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                            Ok(other) => self.not_a_string(&node.path, i, &other, span),
                            Err(e) => names.add_unknown(&e),
                        }
                    }
                }
                // `mkIf`/`mkMerge`/`mkOverride` around either form: the merged value tells.
                Ok(Value::Attrs(attrs)) if attrs.get("_type").is_some() => {
                    read_merged.get_or_insert(self.def_span(&def));
                }
                Ok(Value::Attrs(attrs)) => {
                    for a in &attrs.entries {
                        if a.name.starts_with("_") {
                            continue;
                        }
                        let span = if from_json {
                            self.json_key_span(&[
                                "instances",
                                instance,
                                "roles",
                                role,
                                "tags",
                                &a.name,
                            ])
                        } else {
                            self.span(a.pos).or_else(|| self.def_span(&def))
                        };
                        names.add_name(&a.name, span);
                    }
                }
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                // Neither form: the module system reports the type.
                Ok(other) => names.add_unknown(&format!("`{}` is {}", node.path, other.describe())),
                Err(e) => names.add_unknown(&e),
            }
        }
        if let Some(span) = read_merged {
            match self.force(&node.value_thunk()) {
                Ok(Value::Attrs(attrs)) => {
                    for a in attrs.entries.iter().filter(|a| !a.name.starts_with('_')) {
                        names.add_name(&a.name, span.clone());
                    }
                }
                Ok(Value::List(items)) => {
                    for item in items.iter() {
                        match self.force(item) {
                            Ok(Value::String(s)) => names.add_read(&s, span.clone()),
                            Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                            Ok(_) => {}
                            Err(e) => names.add_unknown(&e),
                        }
                    }
                }
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                Ok(other) => names.add_unknown(&format!("`{}` is {}", node.path, other.describe())),
                Err(e) => names.add_unknown(&e),
            }
        }
        if let Some(reason) = &names.unknown {
            let span = self.first_span(&node);
            self.note(
                &format!("instances.{instance}.roles.{role}.tags"),
                reason.clone(),
                span,
            );
        }
        names
    }

    fn json_index_span(&self, keys: &[&str], index: usize) -> Option<Span> {
        let text = self.inventory_json()?;
        let range = super::json_locate::locate_index(&text, keys, index)?;
        Some(Span::new("inventory.json", range))
    }

    /// The `settings` of a role or role machine, as data (one definition; more are C012,
    /// reported by the module system).
    fn settings(&mut self, parent: Option<Rc<Node>>, subject: &str) -> Option<Spanned<Data>> {
        let node = self.child(&parent, "settings")?;
        // Merging reports a second definition (C012: settings take one).
        let _ = self.force(&node.value_thunk());
        let defs = self.user_defs(&node);
        let def = defs.first()?;
        let span = self.def_span(def);
        let json_path = def
            .file
            .as_deref()
            .filter(|f| f.ends_with("/inventory.json"))
            .map(|_| json_path_of(subject));
        Some(self.data(&def.value, span, 0, subject, json_path))
    }

    /// A value as `Data` with the span of its definition, keeping module-system wrappers.
    fn data(
        &mut self,
        thunk: &Thunk,
        span: Option<Span>,
        depth: usize,
        subject: &str,
        json: Option<Vec<String>>,
    ) -> Spanned<Data> {
        let mut literal = None;
        let value = self.data_value(thunk, span.clone(), depth, subject, json, &mut literal);
        Spanned {
            literal,
            ..Spanned::new(value, span)
        }
    }

    /// [`Self::data`]'s value; a string copied from a literal sets `literal`.
    fn data_value(
        &mut self,
        thunk: &Thunk,
        span: Option<Span>,
        depth: usize,
        subject: &str,
        json: Option<Vec<String>>,
        literal: &mut Option<Span>,
    ) -> Data {
        if depth > MAX_DATA_DEPTH {
            return Data::Unknown("nested too deeply".into());
        }
        // A number literal's (or `true`'s, `false`'s) value, copied: the model keeps the
        // literal with it.
        if let Some((number, pos)) = thunk.literal_number() {
            let copied = match number {
                Value::Int(i) => Some(Data::Int(i)),
                Value::Float(f) => Some(Data::Float(f)),
                Value::Bool(b) => Some(Data::Bool(b)),
                _ => None,
            };
            if let (Some(data), Some(span)) = (copied, self.span(Some(pos))) {
                *literal = Some(span);
                return data;
            }
        }
        let value = match self.force(thunk) {
            Ok(v) => v,
            Err(e) => return Data::Unknown(e),
        };
        match value {
            Value::Null => Data::Null,
            Value::Bool(b) => Data::Bool(b),
            Value::Int(i) => Data::Int(i),
            Value::Float(f) => Data::Float(f),
            Value::String(s) => {
                let (text, from) = self.copy_string(&s);
                *literal = from;
                Data::String(text)
            }
            Value::Path(p) => Data::Path(
                self.files
                    .relative(&p)
                    .map(str::to_string)
                    .unwrap_or_else(|| p.to_string()),
            ),
            Value::Lambda(_) | Value::PrimOp(_) => Data::Function,
            Value::Unknown(u) => {
                self.note(subject, u.reason.clone(), span);
                Data::Unknown(u.reason.clone())
            }
            Value::List(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    let pos = self.ev.thunk_pos(item);
                    let s = self.span(pos).or_else(|| span.clone());
                    out.push(self.data(item, s, depth + 1, subject, None));
                }
                Data::List(out)
            }
            Value::Attrs(attrs) => {
                let get = |name: &str| attrs.get(name).cloned();
                if let Some(kind) = get("_type") {
                    let kind = match self.force(&kind) {
                        Ok(Value::String(s)) => s.text().to_string(),
                        _ => String::new(),
                    };
                    let content = |r: &mut Self| -> Box<Spanned<Data>> {
                        let c = get("content").unwrap_or_else(|| Thunk::value(Value::Null));
                        let pos = r.ev.thunk_pos(&c);
                        let s = r.span(pos).or_else(|| span.clone());
                        Box::new(r.data(&c, s, depth + 1, subject, None))
                    };
                    let int = |r: &mut Self, name: &str| -> i64 {
                        match get(name).map(|t| r.force(&t)) {
                            Some(Ok(Value::Int(i))) => i,
                            _ => 100,
                        }
                    };
                    match kind.as_str() {
                        "override" => {
                            let priority = int(self, "priority");
                            return Data::Override {
                                priority,
                                content: content(self),
                            };
                        }
                        "order" => {
                            let priority = int(self, "priority");
                            return Data::Order {
                                priority,
                                content: content(self),
                            };
                        }
                        "if" => {
                            let condition = match get("condition").map(|t| self.force(&t)) {
                                Some(Ok(Value::Bool(b))) => Known::Known(b),
                                Some(Ok(Value::Unknown(u))) => Known::Unknown(u.reason.clone()),
                                Some(Ok(_)) => Known::Unknown("not a Boolean".into()),
                                Some(Err(e)) => Known::Unknown(e),
                                None => Known::Known(true),
                            };
                            return Data::If {
                                condition,
                                content: content(self),
                            };
                        }
                        "merge" => {
                            if let Some(Ok(Value::List(items))) =
                                get("contents").map(|t| self.force(&t))
                            {
                                let mut out = Vec::new();
                                for item in items.iter() {
                                    let pos = self.ev.thunk_pos(item);
                                    let s = self.span(pos).or_else(|| span.clone());
                                    out.push(self.data(item, s, depth + 1, subject, None));
                                }
                                return Data::Merge(out);
                            }
                            return Data::Unknown("mkMerge without a list".into());
                        }
                        _ => {}
                    }
                }
                let mut out = BTreeMap::new();
                for a in &attrs.entries {
                    if &*a.name == crate::eval::OPEN_MARKER {
                        continue;
                    }
                    let child_json = json.as_ref().map(|p| {
                        let mut p = p.clone();
                        p.push(a.name.to_string());
                        p
                    });
                    let json_key = child_json.as_ref().and_then(|p| {
                        let keys: Vec<&str> = p.iter().map(String::as_str).collect();
                        self.json_key_span(&keys)
                    });
                    let key = json_key
                        .or_else(|| self.span(a.pos))
                        .or_else(|| span.clone());
                    let value_pos = self
                        .ev
                        .thunk_pos(&a.value)
                        .or_else(|| self.value_of_key(a.pos));
                    let s = self.span(value_pos).or_else(|| key.clone());
                    let d = self.data(&a.value, s, depth + 1, subject, child_json);
                    out.insert(a.name.to_string(), d.with_key(key));
                }
                Data::Attrs(out)
            }
        }
    }

    fn extra_modules(&mut self, node: Option<Rc<Node>>) -> Vec<Spanned<ExtraModule>> {
        let Some(node) = node else { return Vec::new() };
        let mut out = Vec::new();
        for def in self.user_defs(&node) {
            let written = self.list_items(self.def_value_pos(&def));
            let items = match self.force(&def.value) {
                Ok(Value::List(items)) => items,
                // Modules clanc cannot see (reported when it failed): any module at all.
                other => {
                    let reason = match other {
                        Ok(Value::Unknown(u)) => u.reason.clone(),
                        Ok(Value::Attrs(a)) if a.get("_type").is_some() => {
                            "`extraModules` under `mkIf`/`mkMerge` is not read".to_string()
                        }
                        Ok(v) => format!("`extraModules` is {}", v.describe()),
                        Err(e) => e,
                    };
                    let span = self.def_span(&def);
                    out.push(Spanned::new(ExtraModule::Unknown(reason), span));
                    continue;
                }
            };
            for (i, item) in items.iter().enumerate() {
                let pos = self.ev.thunk_pos(item).or_else(|| written.get(i).copied());
                let span = self.span(pos).or_else(|| self.def_span(&def));
                let module = match self.force(item) {
                    Ok(Value::Path(p)) => ExtraModule::File(
                        self.files
                            .relative(&p)
                            .map(str::to_string)
                            .unwrap_or_else(|| p.to_string()),
                    ),
                    Ok(Value::String(s)) => ExtraModule::File(s.text().to_string()),
                    Ok(Value::Unknown(u)) => ExtraModule::Unknown(u.reason.clone()),
                    Ok(_) => ExtraModule::Inline,
                    Err(e) => ExtraModule::Unknown(e),
                };
                out.push(Spanned::new(module, span));
            }
        }
        out
    }

    // ---- machines' own modules ----------------------------------------------------------

    fn read_machine_modules(
        &mut self,
        flake: &FlakeEvaluation,
        root: &Option<Rc<Node>>,
        clan_config: &Thunk,
    ) {
        let machines_node = self.child(root, "machines");
        let special = match self
            .child(root, "specialArgs")
            .map(|n| self.force(&n.value_thunk()))
        {
            Some(Ok(Value::Attrs(a))) => a
                .entries
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let names: Vec<String> = self.clan.machines.keys().cloned().collect();
        // One schema value for every machine: its declarations are read once.
        let schema = machine_schema(&flake.ctx, true);
        // A failed (reported) definition of `machines` may have held any machine's modules.
        let machines_failed = self.open_reason(&machines_node);
        for name in names {
            if let Some(reason) = &machines_failed {
                let span = self.clan.machines.get(&name).and_then(|m| m.span.clone());
                self.note(&format!("machines.{name}"), reason.clone(), span);
            }
            let mut args = special.clone();
            args.push(("inputs".into(), flake.inputs_value.clone()));
            args.push(("self".into(), flake.self_value.clone()));
            args.push(("name".into(), Thunk::value(Value::string(name.clone()))));
            let Some(node) = self.child(&machines_node, &name) else {
                // No modules of its own: what its services give it is all it has.
                if machines_failed.is_none() {
                    self.add_service_generators(flake, clan_config, &name, Vec::new(), args, false);
                }
                continue;
            };
            let mut modules = Vec::new();
            modules.push(ModuleSource::new(
                schema.clone(),
                Some(Rc::from(known::path("machine.nix"))),
                None,
            ));
            let (defined, uncertain) = node.as_modules(self.ev);
            let own_modules = defined.clone();
            modules.extend(defined);
            let settings = EvalSettings {
                open_world: Some(
                    "options of the machine's NixOS or nix-darwin modules are not modelled".into(),
                ),
                ..EvalSettings::default()
            };
            let evaluation = evaluate(&flake.ctx, self.ev, modules, args.clone(), settings);
            self.read_machine_evaluation(&name, &evaluation);
            if evaluation.failed.is_none() {
                let own_open = evaluation.open.is_some();
                self.add_service_generators(flake, clan_config, &name, own_modules, args, own_open);
            }
            // A module that failed (reported) or that clanc cannot see into: what it declares
            // and defines is missing. (An unknown import says so itself, `ImportTarget`.)
            let machine = self.clan.machines.get(&name);
            let unknown_import = machine.is_some_and(|m| {
                (m.imports.iter()).any(|i| matches!(i.target, ImportTarget::Unknown(_)))
            });
            let unseen = evaluation.open.clone().filter(|_| !unknown_import);
            if let Some(reason) = (evaluation.failed.as_ref().map(|f| f.message.clone()))
                .or(unseen)
                .or(uncertain)
            {
                let span = machine.and_then(|m| m.span.clone());
                self.note(&format!("machines.{name}"), reason, span);
            }
        }
    }

    fn read_machine_evaluation(&mut self, name: &str, evaluation: &Rc<Evaluation>) {
        let root = Some(evaluation.root.clone());
        let platform = self.path(&root, &["nixpkgs", "hostPlatform"]);
        let host_platform = match platform {
            Some(node) if node.is_defined() => {
                self.copied_string_at(Some(node), &format!("machines.{name}.nixpkgs.hostPlatform"))
            }
            _ => None,
        };
        // clan falls back to the machine's own `clan.core.networking.{targetHost,buildHost}`
        // where the inventory sets no `deploy.<field>` (clan_lib's get_machine_host).
        let mut networking = [None, None];
        for (slot, field) in networking.iter_mut().zip(["targetHost", "buildHost"]) {
            if let Some(node) = self.path(&root, &["clan", "core", "networking", field])
                && !self.user_defs(&node).is_empty()
            {
                *slot = self.copied_string_at(
                    Some(node),
                    &format!("machines.{name}.clan.core.networking.{field}"),
                );
            }
        }
        let [networking_target, networking_build] = networking;
        let mut imports = Vec::new();
        for record in &evaluation.imports {
            let span = self.span(record.pos);
            let text = record
                .pos
                .and_then(|p| self.ev.pos_text(p))
                .unwrap_or_default();
            let deferred = deferred_reference(&text);
            let target = match (&record.target, deferred) {
                (ImportedModule::Failed(_), Some((class, module))) => {
                    if let Some(span) = &span {
                        self.missing_references.push(span.clone());
                    }
                    ImportTarget::Deferred {
                        class,
                        name: module,
                        defined: false,
                    }
                }
                (_, Some((class, module))) => ImportTarget::Deferred {
                    class,
                    name: module,
                    defined: true,
                },
                (ImportedModule::File(p), None) => match self.files.relative(p) {
                    Some(rel) => ImportTarget::File(rel.to_string()),
                    None if known::is_builtin(p) => continue,
                    None => ImportTarget::Unknown(format!("{p} is outside the clan")),
                },
                (ImportedModule::Inline, None) => continue,
                (ImportedModule::Unknown(reason), None) => ImportTarget::Unknown(reason.clone()),
                (ImportedModule::Failed(reason), None) => ImportTarget::Unknown(reason.clone()),
            };
            if span.is_none() && !matches!(target, ImportTarget::File(_)) {
                continue;
            }
            imports.push(ModuleImport { span, target });
        }
        let generators_node = self.path(&root, &["clan", "core", "vars", "generators"]);
        let mut generators = BTreeMap::new();
        for (g, node) in self.keys(&generators_node) {
            if !node.is_defined() {
                continue;
            }
            let generator = self.read_generator(name, &g, &node);
            generators.insert(g, generator);
        }
        let sops_secrets = self.read_sops_secrets(name, &root);
        let sops_key_elsewhere = self.sops_key_elsewhere(&root);
        if let Some(m) = self.clan.machines.get_mut(name) {
            if m.target_host.is_none() {
                m.target_host = networking_target;
            }
            if m.build_host.is_none() {
                m.build_host = networking_build;
            }
            m.host_platform = host_platform;
            m.imports = imports;
            m.generators = generators;
            m.sops_secrets = sops_secrets;
            m.sops_key_elsewhere = sops_key_elsewhere;
        }
    }

    /// Adds the generators the machine's services and clan-core give it (read from a second
    /// evaluation, `service_generators`); a failure there is kept as why its generators are
    /// partial.
    fn add_service_generators(
        &mut self,
        flake: &FlakeEvaluation,
        clan_config: &Thunk,
        name: &str,
        own_modules: Vec<ModuleSource>,
        args: Vec<(crate::modules::system::Name, Thunk)>,
        own_open: bool,
    ) {
        let source = self.clan.service_sources.clan_core_dir.clone();
        let class = match self.clan.machines.get(name).map(|m| &m.class.value) {
            Some(Known::Known(class)) => class.as_str(),
            _ => return,
        };
        let services = self.clan.machine_services(name);
        if services.memberships.is_empty() && source.is_none() {
            return;
        }
        let result = self.service_generators(
            flake,
            clan_config,
            name,
            class,
            &services,
            source.as_deref(),
            (own_modules, own_open),
            args,
        );
        if let Some(m) = self.clan.machines.get_mut(name) {
            m.distributed = (services.memberships.iter())
                .map(|s| s.instance.clone())
                .collect();
            match result {
                Ok(generators) => m.generators = generators,
                Err(reason) => m.services_failed = Some(reason),
            }
        }
    }

    /// Why sops-nix may not decrypt with the clan's machine key, `/var/lib/sops-nix/key.txt`
    /// (clan-core's `sops.age.keyFile`): the machine's modules set the key file to another
    /// path (or to one clanc cannot know), or give ssh or gnupg keys.
    fn sops_key_elsewhere(&mut self, root: &Option<Rc<Node>>) -> Option<String> {
        const CLAN_KEY_FILE: &str = "/var/lib/sops-nix/key.txt";
        let defined = |r: &mut Self, keys: &[&str]| {
            r.path(root, keys)
                .is_some_and(|node| !r.user_defs(&node).is_empty())
        };
        if defined(self, &["sops", "age", "keyFile"]) {
            let node = self.path(root, &["sops", "age", "keyFile"]);
            let value = node.map(|n| n.value_thunk());
            let file = value.and_then(|t| match self.ev.force(&t, None) {
                Ok(Value::String(s)) => Some(s.text().to_string()),
                Ok(Value::Path(p)) => Some(p.to_string()),
                _ => None,
            });
            if file.as_deref() != Some(CLAN_KEY_FILE) {
                return Some(format!(
                    "`sops.age.keyFile` is {}",
                    file.map_or("not known".to_string(), |f| format!("`{f}`"))
                ));
            }
        }
        for keys in [
            &["sops", "age", "sshKeyPaths"][..],
            &["sops", "gnupg", "home"],
            &["sops", "gnupg", "sshKeyPaths"],
        ] {
            if defined(self, keys) {
                return Some(format!("`{}` is set", keys.join(".")));
            }
        }
        None
    }

    /// `sops.secrets.<name>` of the machine's sops-nix and of each home-manager user's
    /// (`home-manager.users.<user>.sops.secrets`).
    fn read_sops_secrets(&mut self, machine: &str, root: &Option<Rc<Node>>) -> Vec<SopsSecret> {
        let mut out = self.read_sops_at(&format!("machines.{machine}"), root, None);
        let users = self.path(root, &["home-manager", "users"]);
        let shared = self.hm_shared_modules(root);
        for (user, node) in self.keys(&users) {
            if !node.is_defined() {
                continue;
            }
            let at = format!("machines.{machine}.home-manager.users.{user}");
            if let Some(reason) = &shared {
                let span = self.first_span(&node);
                self.note(&format!("{at}.sops.secrets"), reason.clone(), span);
                continue;
            }
            out.extend(self.read_sops_at(&at, &Some(node), Some(&user)));
        }
        out
    }

    /// Why the home-manager users' modules may hold more than clanc gives them: every user
    /// also gets `home-manager.sharedModules`, which clanc does not evaluate. An element
    /// clanc cannot see into (an input's module) is taken to define nothing the model reads,
    /// as everywhere; any other element may set `sops.defaultSopsFile`, `defaultSopsKey`...
    fn hm_shared_modules(&mut self, root: &Option<Rc<Node>>) -> Option<String> {
        let node = self.path(root, &["home-manager", "sharedModules"])?;
        let reason = "`home-manager.sharedModules` (which clanc does not evaluate) may set every home-manager user's sops options";
        for def in self.user_defs(&node) {
            let Ok(Value::List(items)) = self.force(&def.value) else {
                return Some(reason.to_string());
            };
            for item in items.iter() {
                if !matches!(self.force(item), Ok(Value::Unknown(_))) {
                    return Some(reason.to_string());
                }
            }
        }
        None
    }

    /// `sops.secrets.<name>` below `root` (the option path `at`) with their file (else
    /// `sops.defaultSopsFile`), key and format.
    fn read_sops_at(
        &mut self,
        at: &str,
        root: &Option<Rc<Node>>,
        home_user: Option<&str>,
    ) -> Vec<SopsSecret> {
        let secrets_node = self.path(root, &["sops", "secrets"]);
        let default_file = self.path(root, &["sops", "defaultSopsFile"]);
        let mut out = Vec::new();
        for (name, node) in self.keys(&secrets_node) {
            if !node.is_defined() {
                continue;
            }
            let n = Some(node.clone());
            let subject = format!("{at}.sops.secrets.{name}");
            // A definition of the secret that failed (reported) may have set any field.
            let failed = self.open_reason(&n);
            let unset = |r: &Self, node: &Option<Rc<Node>>| {
                node.as_ref().is_none_or(|c| r.user_defs(c).is_empty())
            };
            let file_node = self.child(&n, "sopsFile");
            let user_file = !unset(self, &file_node);
            let sops_file = if let (Some(reason), false) = (&failed, user_file) {
                Some(Spanned::new(Known::Unknown(reason.clone()), None))
            } else if user_file {
                self.file_at(file_node, &format!("{subject}.sopsFile"))
            } else {
                match default_file.clone() {
                    Some(d) if d.is_defined() => {
                        self.file_at(Some(d), &format!("{at}.sops.defaultSopsFile"))
                    }
                    _ => None,
                }
            };
            let key_node = self.child(&n, "key");
            let key = match &failed {
                Some(reason) if unset(self, &key_node) => {
                    Spanned::new(Known::Unknown(reason.clone()), None)
                }
                _ => self
                    .copied_string_at(key_node, &format!("{subject}.key"))
                    .unwrap_or_else(|| Spanned::new(Known::Known(name.clone()), None)),
            };
            let format_node = self.child(&n, "format");
            let format = match &failed {
                Some(reason) if unset(self, &format_node) => Known::Unknown(reason.clone()),
                _ => self
                    .string_at(format_node, &format!("{subject}.format"))
                    .map(|s| s.value)
                    .unwrap_or_else(|| Known::Known("yaml".to_string())),
            };
            out.push(SopsSecret {
                span: self.first_span(&node),
                name,
                sops_file,
                key,
                format,
                home_user: home_user.map(str::to_string),
            });
        }
        out
    }

    /// A file option's value (a path, or a string such as `"${self}/secrets/x.yaml"`), relative
    /// to the clan directory when inside it.
    fn file_at(&mut self, node: Option<Rc<Node>>, subject: &str) -> Option<Spanned<Known<String>>> {
        let node = node?;
        let span = self.value_span(&node);
        let value = match self.force(&node.value_thunk()) {
            Ok(Value::Null) => return None,
            Ok(Value::Path(p)) => self.clan_relative(&p),
            Ok(Value::String(s)) => self.clan_relative(s.text()),
            Ok(Value::Unknown(u)) => {
                self.note(subject, u.reason.clone(), span.clone());
                Known::Unknown(u.reason.clone())
            }
            Ok(other) => Known::Unknown(format!("{subject} is {}", other.describe())),
            Err(e) => Known::Unknown(e),
        };
        Some(Spanned::new(value, span))
    }

    fn clan_relative(&self, path: &str) -> Known<String> {
        match self.files.relative(path) {
            Some(rel) => Known::Known(rel.to_string()),
            None if path.starts_with("/nix/store/") => {
                Known::Unknown(format!("`{path}` is in the Nix store"))
            }
            None => Known::Known(path.to_string()),
        }
    }

    pub(super) fn read_generator(
        &mut self,
        machine: &str,
        name: &str,
        node: &Rc<Node>,
    ) -> Generator {
        let n = Some(node.clone());
        let span = self.first_span(node);
        let subject = format!("machines.{machine}.clan.core.vars.generators.{name}");
        let mut files = BTreeMap::new();
        let files_node = self.child(&n, "files");
        for (f, f_node) in self.keys(&files_node) {
            if !f_node.is_defined() {
                continue;
            }
            let fnode = Some(f_node.clone());
            let fspan = self.first_span(&f_node);
            // kept as they are (a copy of a literal knows it); defaults have no span
            let text = |r: &mut Self, key: &str, default: &str| {
                let child = r.child(&fnode, key);
                let user = child.as_ref().is_some_and(|c| !r.user_defs(c).is_empty());
                let subject = format!("{subject}.files.{f}.{key}");
                match r.copied_string_at(child, &subject) {
                    Some(mut s) => {
                        if !user {
                            s.span = None;
                        }
                        s
                    }
                    None => Spanned::new(Known::Known(default.to_string()), None),
                }
            };
            let owner = text(self, "owner", "root");
            let group = text(self, "group", "root");
            let mode = text(self, "mode", "0400");
            let needed_for = text(self, "neededFor", "services");
            let secret = {
                let node = self.child(&fnode, "secret");
                self.bool_at(node)
            };
            let deploy = {
                let node = self.child(&fnode, "deploy");
                self.bool_at(node)
            };
            files.insert(
                f.clone(),
                VarFile {
                    name: f,
                    span: fspan,
                    secret,
                    deploy,
                    owner,
                    group,
                    mode,
                    needed_for,
                },
            );
        }
        let mut prompts = BTreeMap::new();
        let prompts_node = self.child(&n, "prompts");
        for (p, p_node) in self.keys(&prompts_node) {
            if !p_node.is_defined() {
                continue;
            }
            let pnode = Some(p_node.clone());
            let pspan = self.first_span(&p_node);
            let kind_node = self.child(&pnode, "type");
            let user = kind_node
                .as_ref()
                .is_some_and(|c| !self.user_defs(c).is_empty());
            let mut kind = self
                .copied_string_at(kind_node, &format!("{subject}.prompts.{p}.type"))
                .unwrap_or_else(|| Spanned::new(Known::Known("line".into()), None));
            if !user {
                kind.span = None;
            }
            let description_node = self.child(&pnode, "description");
            let description = self
                .copied_string_at(description_node, "prompt description")
                .unwrap_or_else(|| Spanned::new(Known::Known(p.clone()), None));
            let persist = {
                let node = self.child(&pnode, "persist");
                self.bool_at(node)
            };
            prompts.insert(
                p.clone(),
                Prompt {
                    name: p,
                    span: pspan,
                    description,
                    kind,
                    persist,
                },
            );
        }
        let dependencies = match self.child(&n, "dependencies") {
            Some(d) => {
                let list = self.list_of_strings(Some(d.clone()), false);
                match (self.force(&d.value_thunk()), list.unknown) {
                    (Ok(Value::Unknown(u)), _) => Known::Unknown(u.reason.clone()),
                    (_, Some(reason)) => Known::Unknown(reason),
                    _ => Known::Known(list.list),
                }
            }
            None => Known::Known(Vec::new()),
        };
        let share = {
            let node = self.child(&n, "share");
            self.bool_at(node)
        };
        let script = {
            let node = self.child(&n, "script");
            let span = node.as_ref().and_then(|s| self.value_span(s));
            let mut literal = None;
            let value = match node.map(|s| self.force(&s.value_thunk())) {
                Some(Ok(Value::String(s))) if !s.context => {
                    let (text, from) = self.copy_string(&s);
                    literal = from;
                    Known::Known(text)
                }
                Some(Ok(Value::String(_))) => {
                    Known::Unknown("the script refers to store paths".into())
                }
                Some(Ok(Value::Unknown(u))) => Known::Unknown(u.reason.clone()),
                Some(Ok(other)) => Known::Unknown(format!("the script is {}", other.describe())),
                Some(Err(e)) => Known::Unknown(e),
                None => Known::Known(String::new()),
            };
            Spanned {
                literal,
                ..Spanned::new(value, span)
            }
        };
        let runtime_inputs = match self
            .child(&n, "runtimeInputs")
            .map(|s| self.force(&s.value_thunk()))
        {
            Some(Ok(Value::List(items))) if items.is_empty() => Known::Known(Vec::new()),
            _ => Known::Unknown("runtime inputs are packages".into()),
        };
        Generator {
            name: name.to_string(),
            span,
            share,
            files,
            prompts,
            dependencies,
            script,
            runtime_inputs,
        }
    }

    /// Diagnostics and unknowns the module system collected.
    fn collect_context(&mut self, ctx: &Rc<ModuleContext>) {
        let diagnostics = ctx.diagnostics.borrow().clone();
        for d in diagnostics {
            if let Some(error) = &d.error {
                let at = error.pos.and_then(|p| self.span(Some(p)));
                let reported_as_m001 = at.is_some_and(|at| {
                    self.missing_references
                        .iter()
                        .any(|m| m.file == at.file && m.range.contains_range(at.range))
                });
                if !reported_as_m001 {
                    self.report_error(error.clone());
                }
                continue;
            }
            // A value of the wrong type: point at the value, not at its name.
            let pos = match d.code {
                Code::C011 => self.value_of_key(d.pos).or(d.pos),
                _ => d.pos,
            };
            let span = match self.span(pos) {
                Some(span) => span,
                None => match self.inventory_json_span(&d) {
                    // A wrong type in inventory.json; other failures of its module (not a
                    // set) come with one, or with inventory.json's own C011.
                    Some(span) if d.code == Code::C011 => span,
                    _ => continue,
                },
            };
            let mut diagnostic = Diagnostic::new(d.code, Severity::Error, d.message.clone(), span);
            for (pos, message) in &d.labels {
                if let Some(s) = self.span(Some(*pos)) {
                    diagnostic.labels.push(Label {
                        span: s,
                        message: message.clone(),
                    });
                }
            }
            push_unique(&mut self.clan.diagnostics, diagnostic);
        }
        let unknowns = ctx.unknowns.borrow().clone();
        for (subject, reason, pos) in unknowns {
            let span = self.span(pos);
            self.note(&subject, reason, span);
        }
    }
}

fn push_unique(all: &mut Vec<Diagnostic>, d: Diagnostic) {
    if !all.contains(&d) {
        all.push(d);
    }
}

fn has_default(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Option(d) if d.default.is_some())
}

fn is_builtin_pos(ev: &Evaluator<'_>, pos: Option<Pos>) -> bool {
    pos.is_some_and(|p| known::is_builtin(&ev.file_path(p.file)))
}

/// A definition clanc's own models make (defaults, computed values), not the user.
fn is_builtin_def(ev: &Evaluator<'_>, def: &Def) -> bool {
    match def.file.as_deref() {
        Some(f) if known::is_builtin(f) => true,
        Some(_) => false,
        None => def.pos.is_none() || is_builtin_pos(ev, def.pos),
    }
}

/// The key path in inventory.json of a subject like `instances.a.roles.b.settings`.
fn json_path_of(subject: &str) -> Vec<String> {
    subject.split('.').map(str::to_string).collect()
}

/// `config.flake.modules.<class>.<name>` at the end of an import's text (comments and
/// whitespace between its tokens do not count).
fn deferred_reference(text: &str) -> Option<(String, String)> {
    let text: String = rnix::tokenize(text)
        .filter(|(kind, _)| {
            !matches!(
                kind,
                rnix::SyntaxKind::TOKEN_WHITESPACE | rnix::SyntaxKind::TOKEN_COMMENT
            )
        })
        .map(|(_, token)| token)
        .collect();
    let text = text.as_str();
    let rest = text.rsplit_once("modules.")?.1;
    let before = &text[..text.len() - rest.len() - "modules.".len()];
    if !before.ends_with("flake.") {
        return None;
    }
    let (class, name) = rest.split_once('.')?;
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''))
    };
    let name = name.trim_matches('"');
    (ident(class) && ident(name)).then(|| (class.to_string(), name.to_string()))
}

/// Where the code of the clan's services comes from: clan-core's locked source when it is on
/// this machine (the store path Nix fetches it to), its `clanServices/`, and the inputs that
/// are clan-core.
fn service_sources(
    files: &ClanFiles,
    lock: Option<&FlakeLock>,
    flake: &FlakeEvaluation,
) -> crate::model::ServiceSources {
    use crate::eval::Files;
    let locked = lock.and_then(FlakeLock::clan_core);
    let dir = (locked.and_then(|l| l.nar_hash.as_deref()))
        .and_then(crate::modules::flake_lock::store_path_of)
        .filter(|dir| files.file_type(dir) == Some(crate::db::EntryKind::Directory));
    let clan_core_missing = match (locked.and_then(|l| l.rev.as_deref()), &dir) {
        (_, Some(_)) => String::new(),
        (Some(rev), None) => format!(
            "clan-core's source ({}) is not in the Nix store (any nix command on the flake, e.g. `nix flake archive`, fetches it)",
            &rev[..rev.len().min(12)]
        ),
        (None, None) => "the flake does not lock clan-core with a narHash".into(),
    };
    let clan_core_services = dir
        .as_ref()
        .and_then(|d| files.read_dir(&format!("{d}/clanServices")).ok())
        .map(|entries| {
            (entries.into_iter())
                .filter(|e| e.kind == crate::db::EntryKind::Directory)
                .map(|e| e.name)
                .collect()
        })
        .unwrap_or_default();
    crate::model::ServiceSources {
        clan_core_dir: dir,
        clan_core_missing,
        clan_core_services,
        clan_core_inputs: (flake.input_kinds.iter())
            .filter(|(_, kind)| *kind == crate::modules::flake::InputKind::ClanCore)
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

/// The schema module of a machine's configuration (`known/machine.nix`), applied to `lib`.
pub(super) fn machine_schema(ctx: &Rc<ModuleContext>, with_vars: bool) -> Thunk {
    let lib = ctx.lib.clone();
    Thunk::native("machine schema", move |ev, pos| {
        let f = ev.import(&known::path("machine.nix"), pos)?;
        let arg = crate::eval::Attrs::from_unsorted(vec![
            crate::eval::Attr {
                name: "lib".into(),
                value: lib.clone(),
                pos: None,
            },
            crate::eval::Attr {
                name: "withVars".into(),
                value: Thunk::value(Value::Bool(with_vars)),
                pos: None,
            },
        ]);
        ev.apply(f, Thunk::value(Value::attrs(arg)), pos)
    })
}

/// An evaluation error as a diagnostic (N001-N005) at its innermost position in a clan file.
fn error_diagnostic(e: &EvalError, span_of: impl Fn(Pos) -> Option<Span>) -> Option<Diagnostic> {
    let primary = e
        .pos
        .and_then(&span_of)
        .or_else(|| e.trace.iter().find_map(|t| span_of(t.pos)))?;
    let mut d = Diagnostic::new(
        e.code(),
        Severity::Error,
        e.message.clone(),
        primary.clone(),
    );
    for t in &e.trace {
        if let Some(s) = span_of(t.pos)
            && s != primary
            && d.labels.len() < 8
        {
            d.labels.push(Label {
                span: s,
                message: t.message.clone(),
            });
        }
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use crate::db::Database;
    use crate::model::Known;

    #[test]
    fn legacy_sops_secrets_with_default_file_and_keys() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/mistakes/S002-key-not-in-file");
        let mut db = Database::default();
        let loaded = crate::loader::load_clan(&mut db, &dir).unwrap();
        let root = std::fs::canonicalize(&dir).unwrap();
        let clan = super::build_model(&db, &root.to_string_lossy(), loaded.workspace);
        let secrets = &clan.machines["web"].sops_secrets;
        let summary: Vec<(&str, Option<&String>, Option<&String>, bool)> = secrets
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.sops_file.as_ref().and_then(|f| f.value.known()),
                    s.key.value.known(),
                    s.key.span.is_some(),
                )
            })
            .collect();
        let file = "secrets/web.yaml".to_string();
        let (db_key, smtp_key) = ("db/password".to_string(), "smtp/pasword".to_string());
        assert_eq!(
            summary,
            [
                // the key defaults to the name; the file to sops.defaultSopsFile
                ("db/password", Some(&file), Some(&db_key), false),
                // `key` in a submodule definition is configuration, not the module's key
                ("smtp-password", Some(&file), Some(&smtp_key), true),
            ]
        );
        assert!(
            secrets
                .iter()
                .all(|s| s.format == Known::Known("yaml".into()))
        );
    }
}
