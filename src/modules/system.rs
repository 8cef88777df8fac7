//! The NixOS module system, natively: collecting modules (`imports` breadth first, as
//! nixpkgs does, deduplicated by path and `key`, less `disabledModules`; functions called
//! with `config`/`lib`/special arguments and `_module.args`; paths; shorthand), declaring
//! options, pushing definitions down the option tree (`mkIf`, `mkMerge` and `mkOverride`
//! are pushed into the keys of a namespace without evaluating a condition), and merging them
//! by type with priorities and orders. Everything is lazy, as in NixOS: `config` is an
//! attribute set whose values are merged the first time they are forced, so modules may
//! refer to each other's results. The order of definitions is nixpkgs' (the modules in
//! reverse), which decides the order of merged lists and strings.
//!
//! Unlike NixOS it keeps every definition with its position (the model reports spans), never
//! fails on what it cannot know (`mkIf` with an unknown condition makes a definition "maybe",
//! which never produces a conflict), and reports conflicts as diagnostics instead of
//! aborting. An evaluation is *strict* when nixpkgs' `lib.evalModules` is called by the
//! user's code (`EvalSettings::strict`): there, as in NixOS, a definition of an option no
//! module declares and a value of the wrong type are errors, unless some module could not be
//! seen into. Elsewhere (a machine's NixOS configuration, clan's and flake-parts' trees,
//! which clanc models only in part) undeclared options are accepted.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::{Rc, Weak};

use crate::eval::{Attr, Attrs, EvalError, EvalResult, Evaluator, Pos, Thunk, Value};

use super::types::{TypeInfo, TypeKind, describe_value};
use crate::diagnostics::Code;

/// A name in the option tree.
pub type Name = std::sync::Arc<str>;

/// Priorities of `mkOverride` (lower wins).
pub const PRIORITY_PLAIN: i64 = 100;
pub const PRIORITY_OPTION_DEFAULT: i64 = 1500;
/// The priority of `mkOrder` a definition has without one (`mkBefore` is 500).
const ORDER_DEFAULT: i64 = 1000;

/// Something found while merging: a conflict, a value of the wrong type, an evaluation error.
#[derive(Clone, Debug)]
pub struct ModuleDiagnostic {
    pub code: Code,
    pub message: String,
    pub pos: Option<Pos>,
    pub labels: Vec<(Pos, String)>,
    /// Set for evaluation errors (N001-N005): the error with its trace.
    pub error: Option<Box<EvalError>>,
}

/// What the module system needs from its embedder, and what it found.
pub struct ModuleContext {
    pub lib: Thunk,
    pub diagnostics: RefCell<Vec<ModuleDiagnostic>>,
    /// Things that could not be known: (option path, reason, where).
    pub unknowns: RefCell<Vec<(String, String, Option<Pos>)>>,
    /// Keeps every evaluation alive as long as the context (nodes refer to them weakly).
    evaluations: RefCell<Vec<Rc<Evaluation>>>,
    /// Nodes made while values are used (the results of `functionTo` options), kept alive
    /// for the values that refer to them.
    kept: RefCell<Vec<Rc<Node>>>,
    /// Option declarations by the identity of the `options` value that made them.
    decl_cache: RefCell<std::collections::HashMap<usize, (Thunk, Rc<DeclNs>)>>,
    /// The next `Def::seq`.
    next_seq: Cell<u64>,
}

impl ModuleContext {
    pub fn new(lib: Thunk) -> Rc<ModuleContext> {
        Rc::new(ModuleContext {
            lib,
            diagnostics: RefCell::default(),
            unknowns: RefCell::default(),
            evaluations: RefCell::default(),
            kept: RefCell::default(),
            decl_cache: RefCell::default(),
            next_seq: Cell::new(0),
        })
    }

    pub fn report(&self, d: ModuleDiagnostic) {
        let mut all = self.diagnostics.borrow_mut();
        let same =
            |o: &ModuleDiagnostic| o.code == d.code && o.pos == d.pos && o.message == d.message;
        if !all.iter().any(same) {
            all.push(d);
        }
    }

    pub fn report_error(&self, error: Box<EvalError>) {
        self.report(ModuleDiagnostic {
            code: error.code(),
            message: error.message.clone(),
            pos: error.pos,
            labels: Vec::new(),
            error: Some(error),
        });
    }

    /// A number later than every one given before (see `Def::seq`).
    fn seq(&self) -> u64 {
        let n = self.next_seq.get();
        self.next_seq.set(n + 1);
        n
    }

    pub fn note_unknown(&self, path: &str, reason: &str, pos: Option<Pos>) {
        let mut all = self.unknowns.borrow_mut();
        if !all.iter().any(|(p, r, _)| p == path && r == reason) {
            all.push((path.to_string(), reason.to_string(), pos));
        }
    }
}

/// A module to evaluate, and where it comes from.
#[derive(Clone, Debug)]
pub struct ModuleSource {
    pub value: Thunk,
    /// The file it was written in (for `_file` and messages).
    pub file: Option<Rc<str>>,
    /// Where the module value itself is written.
    pub pos: Option<Pos>,
    /// A plain attribute set is configuration only (`submodule`'s shorthand rule).
    pub config_only: bool,
    /// For a definition made a module (a submodule's), the definition's `Def::seq`.
    pub seq: Option<u64>,
}

impl ModuleSource {
    pub fn new(value: Thunk, file: Option<Rc<str>>, pos: Option<Pos>) -> ModuleSource {
        ModuleSource {
            value,
            file,
            pos,
            config_only: false,
            seq: None,
        }
    }
}

/// One definition of an option (or of a key below one).
#[derive(Clone, Debug)]
pub struct Def {
    pub value: Thunk,
    pub file: Option<Rc<str>>,
    /// Where the definition is written: its key, else the nearest enclosing one.
    pub pos: Option<Pos>,
    /// Where its value is written, when known (diagnostics about the value point there).
    pub value_pos: Option<Pos>,
    pub priority: i64,
    /// Defined under `mkIf` with a condition clanc cannot know.
    pub maybe: bool,
    /// The order definitions were read in: the modules' at the top of an evaluation, kept
    /// through submodules (a conflict is reported at the one read last).
    pub seq: u64,
}

/// One element of some module's `imports`, as the model reports it.
#[derive(Clone, Debug)]
pub struct ImportRecord {
    /// The file whose `imports` holds the element.
    pub parent: Option<Rc<str>>,
    /// The element's text.
    pub pos: Option<Pos>,
    pub target: ImportedModule,
}

#[derive(Clone, Debug)]
pub enum ImportedModule {
    File(Rc<str>),
    Inline,
    Unknown(String),
    /// Evaluating the element failed (the error is reported separately).
    Failed(String),
}

/// How an evaluation treats what it finds.
#[derive(Clone, Debug, Default)]
pub struct EvalSettings {
    /// The option path of this evaluation's root, for messages ("clan", "clan.inventory").
    pub prefix: String,
    /// The code for definitions of the wrong type, or `None` to leave them unreported.
    pub type_code: Option<Code>,
    /// Below this option path (in submodules), definitions of the wrong type are reported
    /// with this code.
    pub checked_below: Option<(String, Code)>,
    /// The evaluation also has modules clanc does not see (a machine's NixOS or nix-darwin
    /// modules, why in the text): the configuration the modules read through `config` is
    /// open everywhere, so an attribute no seen module defines is unknown, never missing.
    /// What the model reads from the nodes is not affected.
    pub open_world: Option<String>,
    /// Every module is the user's or clanc's model of nixpkgs (`lib.evalModules` called by
    /// the user): as in NixOS, definitions of options no module declares, and values of the
    /// wrong type, are errors (N002) once every module could be seen into.
    pub strict: bool,
}

/// An option declaration (`mkOption`), merged over the modules that declare it.
#[derive(Debug)]
pub struct Decl {
    pub ty: TypeInfo,
    /// nixpkgs' description of the type ("16 bit unsigned integer; ...").
    pub type_description: String,
    pub default: Option<Thunk>,
    pub apply: Option<Thunk>,
    pub pos: Option<Pos>,
    /// `mkRenamedOptionModule`/`mkAliasOptionModule`: definitions go to this option instead.
    pub alias_of: Option<Vec<Name>>,
}

#[derive(Clone, Debug, Default)]
pub struct DeclNs {
    pub entries: BTreeMap<Name, DeclEntry>,
    /// Why some declarations here may be missing: one failed (reported) or is unknown.
    pub open: Option<String>,
    /// The option trees this namespace was declared by (an option of a submodule type
    /// declared at the same path takes them as its submodules' options, as nixpkgs does).
    sources: Vec<Thunk>,
    /// Some option here or below is declared by clanc's own models (of NixOS, clan-core,
    /// flake-parts), which declare only part of what the real ones do.
    modelled: bool,
}

impl DeclNs {
    /// Why some declarations here or below may be missing.
    pub fn open_below(&self) -> Option<&str> {
        self.open.as_deref().or_else(|| {
            self.entries.values().find_map(|e| match e {
                DeclEntry::Ns(ns) => ns.open_below(),
                DeclEntry::Option(_) => None,
            })
        })
    }
}

#[derive(Clone, Debug)]
pub enum DeclEntry {
    Option(Rc<Decl>),
    Ns(Rc<DeclNs>),
}

/// What the nodes of one evaluation share.
struct Scope {
    settings: EvalSettings,
    /// The evaluation's root (set once the modules are collected).
    root: OnceCell<Weak<Node>>,
    /// The modules' definitions as a tree without declarations, for `_module.args` (which
    /// option declarations may use, so it cannot wait for the root).
    args: OnceCell<Weak<Node>>,
    /// Every module was seen and read: an option nothing defines has no definition.
    complete: Cell<bool>,
    /// Strict, and every module was seen: undeclared options and wrong types are errors.
    checked: Cell<bool>,
    /// Not checked, and clanc's own models declare some of the options: the real NixOS,
    /// clan-core or flake-parts declare more, so a key no module here defines may exist.
    partial: Cell<bool>,
}

impl Scope {
    fn root(&self) -> Option<Rc<Node>> {
        self.root.get().and_then(Weak::upgrade)
    }
}

/// One evaluation of a list of modules: the root of a configuration or of a submodule.
pub struct Evaluation {
    pub settings: Rc<EvalSettings>,
    /// The configuration (without `_module`), as `lib.evalModules` returns it.
    pub config: Thunk,
    pub root: Rc<Node>,
    pub imports: Vec<ImportRecord>,
    /// Files of the modules, in the order they were collected.
    pub files: Vec<Rc<str>>,
    /// A module that clanc could not see into (an unknown value in `imports`): any option
    /// may have definitions it does not know.
    pub open: Option<String>,
    /// The first module that failed (a syntax error in its file, an error evaluating or
    /// calling it): what it defines is missing, so no option's definitions are complete.
    pub failed: Option<ModuleFailure>,
    /// Keeps `Scope::args` alive.
    _args: Rc<Node>,
}

/// A module the evaluation could not read; the error itself is reported to the context.
#[derive(Clone, Debug)]
pub struct ModuleFailure {
    pub message: String,
    pub pos: Option<Pos>,
}

impl ModuleFailure {
    pub fn of(error: &EvalError) -> ModuleFailure {
        ModuleFailure {
            message: error.message.clone(),
            pos: error.pos,
        }
    }
}

/// A place in the option tree with its definitions.
pub struct Node {
    pub path: String,
    pub kind: NodeKind,
    /// The definitions, as written below `mkIf`/`mkMerge`/`mkOverride` pushed down from the
    /// namespaces above (those wrap them); `resolved` discharges them.
    pub defs: Vec<Def>,
    ctx: Weak<ModuleContext>,
    scope: Rc<Scope>,
    this: Weak<Node>,
    resolved: OnceCell<Rc<Resolved>>,
    children: OnceCell<Option<Rc<Children>>>,
    sub: OnceCell<Option<Rc<Evaluation>>>,
    value: OnceCell<Thunk>,
    /// The node this one merges as (the non-null definitions of `nullOr t` as `t`, the
    /// branch of `either`, the coerced definitions of `coercedTo`, the inner type of
    /// `unique`), when there is one.
    derived: OnceCell<Option<Rc<Node>>>,
    /// Nodes made for the value (list elements), kept alive with this one.
    kept: RefCell<Vec<Rc<Node>>>,
    /// For a key no option declares: why the declarations above it may be incomplete (its
    /// value then answers unknown for keys it lacks).
    decls_unknown: OnceCell<Option<String>>,
    /// Extra arguments for submodules below (`name`).
    name_arg: Option<Name>,
}

pub enum NodeKind {
    Namespace {
        decls: Rc<DeclNs>,
        freeform: Option<Rc<TypeInfo>>,
    },
    Option(Rc<Decl>),
    /// An element of `attrsOf` or `listOf`, a freeform key, or what a type merges as.
    Element(Rc<TypeInfo>),
    /// A key no option declares (the rest of NixOS, which clanc does not model).
    Free,
}

/// The definitions that win (highest priority), forced, with their values.
pub struct Resolved {
    pub defs: Vec<(Def, Value)>,
    /// A definition that might win could not be evaluated or sits under an unknown `mkIf`.
    pub uncertain: Option<String>,
}

pub struct Children {
    pub map: BTreeMap<Name, Rc<Node>>,
    /// Some definition is unknown: keys may be missing.
    pub open: Option<String>,
}

/// Definitions by the key below a node.
type KeyedDefs = BTreeMap<Name, Vec<Def>>;

/// A property pushed down from a namespace into the definitions of its keys.
#[derive(Clone)]
enum Pushed {
    If(Thunk),
    Override(Thunk),
}

/// The definitions of the keys below a namespace.
#[derive(Default)]
struct Split {
    out: KeyedDefs,
    /// Some definition is unknown or failed: keys may be missing.
    open: Option<String>,
    /// Some definition is not a set (for a key no option declares: a leaf).
    leaf: bool,
}

/// Whether a definition of a type-checked value passed.
enum Verdict {
    Good,
    Bad,
    Unknown,
}

/// Evaluates a list of modules. `args` are the special arguments every module function
/// gets (besides `config`, `options` and `lib`).
pub fn evaluate(
    ctx: &Rc<ModuleContext>,
    ev: &mut Evaluator<'_>,
    modules: Vec<ModuleSource>,
    args: Vec<(Name, Thunk)>,
    settings: EvalSettings,
) -> Rc<Evaluation> {
    let scope = Rc::new(Scope {
        settings: settings.clone(),
        root: OnceCell::new(),
        args: OnceCell::new(),
        complete: Cell::new(false),
        checked: Cell::new(false),
        partial: Cell::new(false),
    });
    // `config` as modules see it (with `_module`).
    let module_config = {
        let scope = scope.clone();
        Thunk::native("config", move |ev, _| match scope.root() {
            Some(root) => {
                let t = root.value_thunk();
                ev.force(&t, None)
            }
            None => Ok(Value::Null),
        })
    };
    let mut arg_attrs: Vec<Attr> = vec![
        attr("config", module_config.clone()),
        attr("lib", ctx.lib.clone()),
        attr(
            "options",
            Thunk::value(ev.unknown("the `options` module argument is not modelled", None)),
        ),
    ];
    // Special arguments win over the built-in ones, as in nixpkgs.
    arg_attrs.extend(args.into_iter().map(|(name, value)| Attr {
        name,
        value,
        pos: None,
    }));
    arg_attrs.reverse();
    let base_args = Rc::new(Attrs::from_unsorted(arg_attrs));

    let mut collector = Collector {
        ctx,
        scope: scope.clone(),
        base_args,
        modules: Vec::new(),
        by_key: HashMap::new(),
        imports: Vec::new(),
        open: None,
        failed: None,
        anonymous: 0,
    };
    collector.collect_all(ev, modules);
    let collected = collector.enabled();
    let Collector {
        imports,
        open,
        failed,
        ..
    } = collector;

    let mut decls = DeclNs::default();
    let mut freeform = None;
    let mut defs = Vec::new();
    // Definitions in nixpkgs' order: the collected modules in reverse.
    for m in collected.iter().rev() {
        if let Some(ff) = &m.freeform
            && freeform.is_none()
        {
            match ev.force(ff, None).and_then(|t| TypeInfo::read(ev, &t)) {
                Ok(t) => freeform = Some(Rc::new(t)),
                Err(e) => ctx.report_error(e),
            }
        }
        if let Some((config, pos)) = &m.config {
            defs.push(Def {
                value: config.clone(),
                file: m.file.clone(),
                pos: *pos,
                value_pos: None,
                priority: PRIORITY_PLAIN,
                maybe: false,
                seq: m.seq,
            });
        }
    }
    let args_node = Node::new(
        ctx,
        &scope,
        settings.prefix.clone(),
        NodeKind::Namespace {
            decls: Rc::new(DeclNs::default()),
            freeform: None,
        },
        defs.clone(),
        None,
    );
    let _ = scope.args.set(Rc::downgrade(&args_node));
    let mut clashes = Vec::new();
    for m in &collected {
        if let Some(options) = &m.options {
            let declared = declared(ctx, ev, options, m.file.clone(), &settings.prefix);
            merge_ns(&mut decls, &declared, &settings.prefix, &mut clashes);
        }
    }
    // An option whose type has no submodules declared with options below it: an error in
    // nixpkgs; clanc's models are not that exact, so only the user's evaluations report it.
    if settings.strict {
        for (path, decl) in clashes {
            ctx.report(ModuleDiagnostic {
                code: Code::N002,
                message: format!(
                    "The option `{path}` would be a parent of other options, but its type `{}` does not support nested options",
                    decl.ty.describe()
                ),
                pos: decl.pos,
                labels: Vec::new(),
                error: None,
            });
        }
    }
    let complete = open.is_none() && failed.is_none() && decls.open_below().is_none();
    scope.complete.set(complete);
    scope.checked.set(settings.strict && complete);
    scope.partial.set(!scope.checked.get() && decls.modelled);
    let root = Node::new(
        ctx,
        &scope,
        settings.prefix.clone(),
        NodeKind::Namespace {
            decls: Rc::new(decls),
            freeform,
        },
        defs,
        None,
    );
    let _ = scope.root.set(Rc::downgrade(&root));
    // `config` as `evalModules` returns it: without `_module`, and in a strict evaluation
    // checked for definitions of options that do not exist.
    let config = {
        let scope = scope.clone();
        Thunk::native("config", move |ev, pos| {
            let Some(root) = scope.root() else {
                return Ok(ev.unknown("the module evaluation has ended", pos));
            };
            if scope.checked.get() {
                root.check_declared(ev);
            }
            let t = root.value_thunk();
            match ev.force(&t, pos)? {
                Value::Attrs(a) if a.get("_module").is_some() => {
                    let entries = (a.entries.iter())
                        .filter(|e| &*e.name != "_module")
                        .cloned()
                        .collect();
                    Ok(Value::attrs(Attrs { entries }))
                }
                other => Ok(other),
            }
        })
    };
    let evaluation = Rc::new(Evaluation {
        settings: Rc::new(settings),
        config,
        root,
        _args: args_node,
        imports,
        files: collected.iter().filter_map(|m| m.file.clone()).collect(),
        open,
        failed,
    });
    ctx.evaluations.borrow_mut().push(evaluation.clone());
    evaluation
}

fn attr(name: &str, value: Thunk) -> Attr {
    Attr {
        name: name.into(),
        value,
        pos: None,
    }
}

// ---- collecting modules ----------------------------------------------------------------

struct Collected {
    file: Option<Rc<str>>,
    options: Option<Thunk>,
    config: Option<(Thunk, Option<Pos>)>,
    freeform: Option<Thunk>,
    /// Its key (a path, a `key` attribute, or made up for an anonymous module).
    key: Rc<str>,
    /// The keys of the modules it imports, in order.
    imports: Vec<Rc<str>>,
    /// The keys its `disabledModules` names.
    disabled: Vec<Rc<str>>,
    /// A top-level module of the evaluation.
    top: bool,
    /// See `Def::seq`.
    seq: u64,
}

struct Collector<'c> {
    ctx: &'c Rc<ModuleContext>,
    scope: Rc<Scope>,
    base_args: Rc<Attrs>,
    /// Every module, breadth first, each key once.
    modules: Vec<Collected>,
    by_key: HashMap<Rc<str>, usize>,
    imports: Vec<ImportRecord>,
    open: Option<String>,
    failed: Option<ModuleFailure>,
    anonymous: usize,
}

/// Attributes of a module that are not configuration, even in shorthand form.
const MODULE_META: &[&str] = &[
    "_class",
    "_file",
    "key",
    "disabledModules",
    "imports",
    "require",
    "freeformType",
];

/// A module waiting to be collected: what it is, how deep, and which key its parent knows
/// it by (filled in once it is read).
struct Pending {
    source: ModuleSource,
    depth: usize,
    /// The index of the parent in `Collector::modules` and of the slot in its `imports`.
    parent: Option<(usize, usize)>,
    /// Its record in `Collector::imports`.
    record: Option<usize>,
}

/// What reading one module gave.
enum Read {
    Module(Collected, Option<Attr>),
    /// Nothing to collect (an unknown value: the evaluation is open).
    Nothing,
}

impl Collector<'_> {
    /// Collects the modules and what they import, breadth first as nixpkgs'
    /// `genericClosure` does: the first module with a key wins.
    fn collect_all(&mut self, ev: &mut Evaluator<'_>, modules: Vec<ModuleSource>) {
        let mut queue: VecDeque<Pending> = modules
            .into_iter()
            .map(|source| Pending {
                source,
                depth: 0,
                parent: None,
                record: None,
            })
            .collect();
        while let Some(pending) = queue.pop_front() {
            let Pending {
                source,
                depth,
                parent,
                record,
            } = pending;
            let read = match self.read(ev, source, depth) {
                Ok(read) => read,
                Err(failure) => {
                    // a file that does not parse: imported, but nothing of it is known
                    if let Some(r) = record {
                        self.imports[r].target = ImportedModule::Failed(failure.message);
                    }
                    continue;
                }
            };
            let Read::Module(mut module, imports) = read else {
                continue;
            };
            module.top = parent.is_none();
            if let Some((p, slot)) = parent {
                self.modules[p].imports[slot] = module.key.clone();
            }
            if self.by_key.contains_key(&module.key) {
                continue;
            }
            let index = self.modules.len();
            let file = module.file.clone();
            self.by_key.insert(module.key.clone(), index);
            self.modules.push(module);
            let Some(imports) = imports else { continue };
            let list = match ev.force(&imports.value, imports.pos) {
                Ok(Value::List(items)) => items,
                Ok(Value::Unknown(u)) => {
                    self.open.get_or_insert_with(|| u.reason.clone());
                    continue;
                }
                Ok(other) => {
                    // the module's configuration is collected; what it imports is unknown
                    let _ = self.fail(ModuleDiagnostic {
                        code: Code::N002,
                        message: format!(
                            "`imports` must be a list, but it is {}",
                            other.describe()
                        ),
                        pos: imports.pos,
                        labels: Vec::new(),
                        error: None,
                    });
                    continue;
                }
                Err(e) => {
                    let _ = self.fail_with(e);
                    continue;
                }
            };
            for item in list.iter() {
                let pos = ev.thunk_pos(item).or(imports.pos);
                let target = match ev.force(item, pos) {
                    Ok(Value::Path(p)) => ImportedModule::File(p),
                    Ok(Value::String(s)) if s.text().starts_with('/') => {
                        ImportedModule::File(s.text().into())
                    }
                    Ok(Value::Unknown(u)) => ImportedModule::Unknown(u.reason.clone()),
                    Ok(_) => ImportedModule::Inline,
                    Err(e) => ImportedModule::Failed(self.fail_with(e).message),
                };
                let value = match &target {
                    ImportedModule::Failed(_) => None,
                    ImportedModule::File(p) => Some(Thunk::value(Value::Path(p.clone()))),
                    _ => Some(item.clone()),
                };
                let r = self.imports.len();
                self.imports.push(ImportRecord {
                    parent: file.clone(),
                    pos,
                    target,
                });
                if let Some(value) = value {
                    let slot = self.modules[index].imports.len();
                    self.modules[index].imports.push(Rc::from(""));
                    queue.push_back(Pending {
                        source: ModuleSource::new(value, file.clone(), pos),
                        depth: depth + 1,
                        parent: Some((index, slot)),
                        record: Some(r),
                    });
                }
            }
        }
    }

    /// The collected modules without those `disabledModules` names (and what only they
    /// import), in the order nixpkgs merges them from (reversed by the caller).
    fn enabled(&mut self) -> Vec<Collected> {
        let disabled: HashSet<Rc<str>> = (self.modules.iter())
            .flat_map(|m| m.disabled.iter().cloned())
            .collect();
        let mut all: Vec<Option<Collected>> = std::mem::take(&mut self.modules)
            .into_iter()
            .map(Some)
            .collect();
        if disabled.is_empty() {
            return all.into_iter().flatten().collect();
        }
        let mut out = Vec::new();
        let mut queue: VecDeque<usize> = (0..all.len())
            .filter(|&i| all[i].as_ref().is_some_and(|m| m.top))
            .collect();
        let mut seen = HashSet::new();
        while let Some(i) = queue.pop_front() {
            let Some(module) = all[i].as_ref() else {
                continue;
            };
            if disabled.contains(&module.key) || !seen.insert(i) {
                continue;
            }
            for key in &module.imports {
                if let Some(&j) = self.by_key.get(key) {
                    queue.push_back(j);
                }
            }
            if let Some(m) = all[i].take() {
                out.push(m);
            }
        }
        out
    }

    /// Reads one module: forces it, imports a path, calls a function, and sorts its
    /// attributes; fails when it could not be read (the error is reported, and the
    /// evaluation's first failure kept).
    fn read(
        &mut self,
        ev: &mut Evaluator<'_>,
        m: ModuleSource,
        depth: usize,
    ) -> Result<Read, ModuleFailure> {
        if depth > 200 {
            return Err(self.fail(ModuleDiagnostic {
                code: Code::N005,
                message: "modules import each other more than 200 levels deep".into(),
                pos: m.pos,
                labels: Vec::new(),
                error: None,
            }));
        }
        let mut file = m.file.clone();
        let mut key: Option<Rc<str>> = None;
        let seq = m.seq.unwrap_or_else(|| self.ctx.seq());
        let mut value = match ev.force(&m.value, m.pos) {
            Ok(v) => v,
            Err(e) => return Err(self.fail_with(e)),
        };
        // `submodule`'s shorthand rule: a definition written as a plain set is configuration,
        // all of it (`key`, `imports`, `_file` included: sops-nix's `key` option is one);
        // paths and functions are modules as usual.
        let plain_config = m.config_only && matches!(value, Value::Attrs(_));
        if let Value::Path(path) = &value {
            let path = path.clone();
            value = match ev.import(&path, m.pos) {
                Ok(v) => v,
                Err(e) => return Err(self.fail_with(e)),
            };
            key = Some(path.clone());
            file = Some(path);
        }
        if matches!(value, Value::Lambda(_) | Value::PrimOp(_)) {
            let args = self.args_for(&value);
            value = match ev.apply(value, Thunk::value(Value::Attrs(args)), m.pos) {
                Ok(v) => v,
                Err(e) => return Err(self.fail_with(e)),
            };
        }
        let attrs = match value {
            Value::Attrs(a) => a,
            Value::Unknown(u) => {
                self.open.get_or_insert_with(|| u.reason.clone());
                return Ok(Read::Nothing);
            }
            other => {
                return Err(self.fail(ModuleDiagnostic {
                    code: Code::N002,
                    message: format!(
                        "a module must be a set or a function, but this is {}",
                        other.describe()
                    ),
                    pos: m.pos,
                    labels: Vec::new(),
                    error: None,
                }));
            }
        };
        let get = |name: &str| attrs.find(name).cloned();
        self.anonymous += 1;
        let anonymous: Rc<str> = Rc::from(format!("\0anonymous module {}", self.anonymous));
        let anonymous = || anonymous.clone();
        if plain_config {
            return Ok(Read::Module(
                Collected {
                    file,
                    options: None,
                    config: Some((Thunk::value(Value::Attrs(attrs)), m.pos)),
                    freeform: None,
                    key: anonymous(),
                    imports: Vec::new(),
                    disabled: Vec::new(),
                    top: false,
                    seq,
                },
                None,
            ));
        }
        // `mkIf`/`mkOverride` as a whole module: its configuration.
        if let Some(t) = attrs.get("_type")
            && let Ok(Value::String(s)) = ev.force(&t.clone(), m.pos)
            && matches!(s.text(), "if" | "override" | "merge")
        {
            return Ok(Read::Module(
                Collected {
                    file,
                    options: None,
                    config: Some((Thunk::value(Value::Attrs(attrs)), m.pos)),
                    freeform: None,
                    key: key.unwrap_or_else(anonymous),
                    imports: Vec::new(),
                    disabled: Vec::new(),
                    top: false,
                    seq,
                },
                None,
            ));
        }
        if let Some(k) = get("key")
            && let Ok(v) = ev.force(&k.value, None)
        {
            match v {
                Value::String(s) => key = Some(s.text().into()),
                Value::Path(p) => key = Some(p),
                _ => {}
            }
        }
        if let Some(f) = get("_file")
            && let Ok(v) = ev.force(&f.value, None)
        {
            match v {
                Value::String(s) => file = Some(s.text().into()),
                Value::Path(p) => file = Some(p),
                _ => {}
            }
        }
        let disabled = match get("disabledModules") {
            Some(d) => self.disabled_keys(ev, &d),
            None => Vec::new(),
        };
        let structured = ["config", "options"].iter().any(|k| attrs.get(k).is_some());
        let options = if structured {
            get("options").map(|a| a.value)
        } else {
            None
        };
        let config = if structured {
            get("config").map(|a| (a.value, a.pos))
        } else {
            let rest: Vec<Attr> = attrs
                .entries
                .iter()
                .filter(|a| !MODULE_META.contains(&&*a.name))
                .cloned()
                .collect();
            Some((Thunk::value(Value::attrs(Attrs { entries: rest })), m.pos))
        };
        Ok(Read::Module(
            Collected {
                file,
                options,
                config,
                freeform: get("freeformType").map(|a| a.value),
                key: key.unwrap_or_else(anonymous),
                imports: Vec::new(),
                disabled,
                top: false,
                seq,
            },
            get("imports"),
        ))
    }

    /// The keys a `disabledModules` list names: paths and absolute strings as they are,
    /// other strings relative to `modulesPath` (none here), sets by their `key`.
    fn disabled_keys(&mut self, ev: &mut Evaluator<'_>, list: &Attr) -> Vec<Rc<str>> {
        let items = match ev.force(&list.value, list.pos) {
            Ok(Value::List(items)) => items,
            Ok(Value::Unknown(u)) => {
                self.open.get_or_insert_with(|| u.reason.clone());
                return Vec::new();
            }
            Ok(_) => return Vec::new(),
            Err(e) => {
                self.fail_with(e);
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match ev.force(item, list.pos) {
                Ok(Value::Path(p)) => out.push(p),
                Ok(Value::String(s)) if s.text().starts_with('/') => out.push(s.text().into()),
                Ok(Value::String(s)) => out.push(Rc::from(format!("/{}", s.text()))),
                Ok(Value::Attrs(a)) => {
                    if let Some(k) = a.get("key")
                        && let Ok(Value::String(s)) = ev.force(&k.clone(), list.pos)
                    {
                        out.push(s.text().into());
                    }
                }
                Ok(Value::Unknown(u)) => {
                    // a module clanc cannot name may be disabled: anything may be missing
                    self.open.get_or_insert_with(|| u.reason.clone());
                }
                Ok(_) => {}
                Err(e) => {
                    self.fail_with(e);
                }
            }
        }
        out
    }

    /// Reports why a module could not be read; the first such failure marks the evaluation.
    fn fail(&mut self, d: ModuleDiagnostic) -> ModuleFailure {
        let failure = ModuleFailure {
            message: d.message.clone(),
            pos: d.pos,
        };
        self.failed.get_or_insert_with(|| failure.clone());
        self.ctx.report(d);
        failure
    }

    fn fail_with(&mut self, e: Box<EvalError>) -> ModuleFailure {
        let failure = ModuleFailure::of(&e);
        self.failed.get_or_insert_with(|| failure.clone());
        self.ctx.report_error(e);
        failure
    }

    /// The arguments for a module function: the base ones, and for each other argument it
    /// names, `config._module.args.<name>` (unknown when no module defines it: `pkgs`,
    /// `modulesPath`, ... come from NixOS, which clanc does not model).
    fn args_for(&self, f: &Value) -> Rc<Attrs> {
        let Some((formals, _)) = Evaluator::formals(f) else {
            return self.base_args.clone();
        };
        let missing: Vec<Attr> = formals
            .iter()
            .filter(|n| self.base_args.get(n).is_none())
            .map(|n| {
                let scope = self.scope.clone();
                let name = n.clone();
                Attr {
                    name: n.clone(),
                    value: Thunk::native("module argument", move |ev, pos| {
                        module_arg(ev, &scope, &name, pos)
                    }),
                    pos: None,
                }
            })
            .collect();
        if missing.is_empty() {
            return self.base_args.clone();
        }
        Rc::new(self.base_args.update(&Attrs::from_unsorted(missing)))
    }
}

/// `config._module.args.<name>` (a raw value: its one definition as it is), or unknown when
/// nothing defines it.
fn module_arg(
    ev: &mut Evaluator<'_>,
    scope: &Scope,
    name: &str,
    pos: Option<Pos>,
) -> EvalResult<Value> {
    if let Some(args) = scope.args.get().and_then(Weak::upgrade)
        && let Some(node) = args.descend(ev, &["_module", "args", name])
        && node.is_defined()
    {
        let resolved = node.resolved(ev);
        if let (None, [(_, value)]) = (&resolved.uncertain, resolved.defs.as_slice()) {
            return Ok(value.clone());
        }
        let t = node.value_thunk();
        return ev.force(&t, pos);
    }
    Ok(ev.unknown(
        format!("the module argument `{name}` is not modelled"),
        None,
    ))
}

// ---- declaring options -----------------------------------------------------------------

fn is_typed(ev: &mut Evaluator<'_>, attrs: &Attrs, what: &str) -> bool {
    match attrs.get("_type") {
        Some(t) => matches!(ev.force(&t.clone(), None), Ok(Value::String(s)) if s.text() == what),
        None => false,
    }
}

/// The options one module declares. Declarations are read once per `options` value: the
/// modules of a submodule type are shared by all its instances (500 inventory machines
/// declare the same options), so the tree is cached by the identity of the value.
fn declared(
    ctx: &ModuleContext,
    ev: &mut Evaluator<'_>,
    options: &Thunk,
    file: Option<Rc<str>>,
    path: &str,
) -> Rc<DeclNs> {
    let key = Rc::as_ptr(&options.0) as *const () as usize;
    if let Some((_, cached)) = ctx.decl_cache.borrow().get(&key) {
        return cached.clone();
    }
    let mut ns = DeclNs::default();
    declare(ctx, ev, &mut ns, options, file, path);
    let ns = Rc::new(ns);
    // The thunk is kept with the entry, so its address cannot be reused by another.
    ctx.decl_cache
        .borrow_mut()
        .insert(key, (options.clone(), ns.clone()));
    ns
}

/// Adds one module's declarations to an evaluation's. An option that cannot hold the
/// options declared below it is kept, and noted in `clashes`.
fn merge_ns(into: &mut DeclNs, from: &DeclNs, path: &str, clashes: &mut Vec<(String, Rc<Decl>)>) {
    if into.open.is_none() {
        into.open.clone_from(&from.open);
    }
    into.modelled |= from.modelled;
    into.sources.extend(from.sources.iter().cloned());
    for (name, entry) in &from.entries {
        let merged = match (into.entries.remove(name), entry) {
            (None, e) => e.clone(),
            (Some(DeclEntry::Option(old)), DeclEntry::Option(new)) => {
                DeclEntry::Option(Rc::new(merge_decls(&old, clone_decl(new))))
            }
            (Some(DeclEntry::Ns(old)), DeclEntry::Ns(new)) => {
                let mut old = Rc::unwrap_or_clone(old);
                merge_ns(&mut old, new, &join(path, name), clashes);
                DeclEntry::Ns(Rc::new(old))
            }
            // Options declared below an option of a submodule type: options of its
            // submodules (nixpkgs' `optionTreeToOption`).
            (Some(DeclEntry::Option(opt)), DeclEntry::Ns(ns)) => {
                match with_nested_options(&opt, ns) {
                    Some(decl) => DeclEntry::Option(Rc::new(decl)),
                    None => {
                        clashes.push((join(path, name), opt.clone()));
                        DeclEntry::Option(opt)
                    }
                }
            }
            (Some(DeclEntry::Ns(ns)), DeclEntry::Option(opt)) => {
                match with_nested_options(opt, &ns) {
                    Some(decl) => DeclEntry::Option(Rc::new(decl)),
                    None => {
                        clashes.push((join(path, name), opt.clone()));
                        DeclEntry::Option(opt.clone())
                    }
                }
            }
        };
        into.entries.insert(name.clone(), merged);
    }
}

/// A submodule option with the options of a namespace declared at its path added to its
/// submodules; `None` when the option's type has no submodules.
fn with_nested_options(opt: &Decl, ns: &Rc<DeclNs>) -> Option<Decl> {
    let TypeKind::Submodule {
        modules,
        special_args,
        shorthand_only_config,
    } = &opt.ty.kind
    else {
        return None;
    };
    let mut modules = modules.clone();
    for source in &ns.sources {
        modules.push(Thunk::value(Value::attrs(Attrs::from_unsorted(vec![
            attr("options", source.clone()),
        ]))));
    }
    let mut decl = clone_decl(opt);
    decl.ty.kind = TypeKind::Submodule {
        modules,
        special_args: special_args.clone(),
        shorthand_only_config: *shorthand_only_config,
    };
    Some(decl)
}

fn clone_decl(d: &Decl) -> Decl {
    Decl {
        ty: d.ty.clone(),
        type_description: d.type_description.clone(),
        default: d.default.clone(),
        apply: d.apply.clone(),
        pos: d.pos,
        alias_of: d.alias_of.clone(),
    }
}

fn declare(
    ctx: &ModuleContext,
    ev: &mut Evaluator<'_>,
    ns: &mut DeclNs,
    options: &Thunk,
    file: Option<Rc<str>>,
    path: &str,
) {
    ns.sources.push(options.clone());
    let value = match ev.force(options, None) {
        Ok(v) => v,
        Err(e) => {
            ns.open.get_or_insert_with(|| e.message.clone());
            return ctx.report_error(e);
        }
    };
    let Value::Attrs(attrs) = value else {
        if let Value::Unknown(u) = value {
            ctx.note_unknown(path, &u.reason, u.origin);
            ns.open.get_or_insert_with(|| u.reason.clone());
        }
        return;
    };
    for a in &attrs.entries {
        let child_path = join(path, &a.name);
        let v = match ev.force(&a.value, a.pos) {
            Ok(v) => v,
            Err(e) => {
                ns.open.get_or_insert_with(|| e.message.clone());
                ctx.report_error(e);
                continue;
            }
        };
        let inner = match &v {
            Value::Attrs(inner) => inner,
            // An option or a namespace clanc cannot see.
            Value::Unknown(u) => {
                ns.open.get_or_insert_with(|| u.reason.clone());
                continue;
            }
            _ => continue,
        };
        if is_typed(ev, inner, "option") {
            let decl = match read_decl(ev, inner, a.pos) {
                Ok(d) => d,
                Err(e) => {
                    ns.open.get_or_insert_with(|| e.message.clone());
                    ctx.report_error(e);
                    continue;
                }
            };
            ns.modelled |= a
                .pos
                .is_some_and(|p| super::known::is_builtin(&ev.file_path(p.file)));
            let merged = match ns.entries.remove(&a.name) {
                Some(DeclEntry::Option(old)) => merge_decls(&old, decl),
                _ => decl,
            };
            ns.entries
                .insert(a.name.clone(), DeclEntry::Option(Rc::new(merged)));
        } else {
            let mut child = match ns.entries.remove(&a.name) {
                Some(DeclEntry::Ns(old)) => Rc::unwrap_or_clone(old),
                _ => DeclNs::default(),
            };
            declare(ctx, ev, &mut child, &a.value, file.clone(), &child_path);
            ns.modelled |= child.modelled;
            ns.entries
                .insert(a.name.clone(), DeclEntry::Ns(Rc::new(child)));
        }
    }
}

fn read_decl(ev: &mut Evaluator<'_>, attrs: &Attrs, pos: Option<Pos>) -> EvalResult<Decl> {
    let ty = match attrs.get("type") {
        Some(t) => {
            let t = ev.force(&t.clone(), pos)?;
            TypeInfo::read(ev, &t)?
        }
        None => TypeInfo::unspecified(),
    };
    let mut alias_of = None;
    for marker in ["_clancRenamedTo", "_clancAliasOf"] {
        if let Some(t) = attrs.get(marker)
            && let Value::List(items) = ev.force(&t.clone(), pos)?
        {
            let mut path = Vec::new();
            for item in items.iter() {
                if let Value::String(s) = ev.force(item, pos)? {
                    path.push(Name::from(s.text()));
                }
            }
            alias_of = Some(path);
        }
    }
    Ok(Decl {
        type_description: ty.description.clone(),
        ty,
        default: attrs.get("default").cloned(),
        apply: attrs.get("apply").cloned(),
        pos,
        alias_of,
    })
}

/// Two declarations of one option: submodule types combine their modules (as NixOS does);
/// otherwise the first declaration's type stands.
fn merge_decls(old: &Decl, new: Decl) -> Decl {
    let kind = match (&old.ty.kind, &new.ty.kind) {
        (
            TypeKind::Submodule {
                modules: a,
                special_args,
                shorthand_only_config,
            },
            TypeKind::Submodule { modules: b, .. },
        ) => TypeKind::Submodule {
            modules: a.iter().chain(b.iter()).cloned().collect(),
            special_args: special_args.clone(),
            shorthand_only_config: *shorthand_only_config,
        },
        (kind, _) => kind.clone(),
    };
    Decl {
        ty: TypeInfo {
            kind,
            ..old.ty.clone()
        },
        type_description: old.type_description.clone(),
        default: old.default.clone().or(new.default),
        apply: old.apply.clone().or(new.apply),
        pos: old.pos,
        alias_of: old.alias_of.clone().or(new.alias_of),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

// ---- nodes: definitions pushed down, merged by type -------------------------------------

/// `{ _type = kind; <field> = field; content = content; }`, as `lib.mkIf`/`mkOverride` make.
fn wrapped(kind: &str, field: &str, value: Thunk, content: Thunk) -> Thunk {
    Thunk::value(Value::attrs(Attrs::from_unsorted(vec![
        attr("_type", Thunk::value(Value::string(kind))),
        attr(field, value),
        attr("content", content),
    ])))
}

/// The `_type` of a property (`mkIf`, `mkMerge`, `mkOverride`, `mkOrder`), if `value` is one.
fn property(ev: &mut Evaluator<'_>, value: &Value) -> Option<String> {
    let Value::Attrs(attrs) = value else {
        return None;
    };
    let t = attrs.get("_type")?.clone();
    match ev.force(&t, None) {
        Ok(Value::String(s)) => Some(s.text().to_string()),
        _ => None,
    }
}

impl Node {
    fn new(
        ctx: &Rc<ModuleContext>,
        scope: &Rc<Scope>,
        path: String,
        kind: NodeKind,
        defs: Vec<Def>,
        name_arg: Option<Name>,
    ) -> Rc<Node> {
        Node::with(Rc::downgrade(ctx), scope, path, kind, defs, name_arg)
    }

    fn with(
        ctx: Weak<ModuleContext>,
        scope: &Rc<Scope>,
        path: String,
        kind: NodeKind,
        defs: Vec<Def>,
        name_arg: Option<Name>,
    ) -> Rc<Node> {
        Rc::new_cyclic(|this| Node {
            path,
            kind,
            defs,
            ctx,
            scope: scope.clone(),
            this: this.clone(),
            resolved: OnceCell::new(),
            children: OnceCell::new(),
            sub: OnceCell::new(),
            value: OnceCell::new(),
            derived: OnceCell::new(),
            kept: RefCell::default(),
            decls_unknown: OnceCell::new(),
            name_arg,
        })
    }

    /// A node of the same evaluation, for `path` with these definitions.
    fn make(&self, path: String, kind: NodeKind, defs: Vec<Def>, name: Option<Name>) -> Rc<Node> {
        Node::with(self.ctx.clone(), &self.scope, path, kind, defs, name)
    }

    fn ctx(&self) -> Option<Rc<ModuleContext>> {
        self.ctx.upgrade()
    }

    fn type_info(&self) -> Option<&TypeInfo> {
        match &self.kind {
            NodeKind::Option(d) => Some(&d.ty),
            NodeKind::Element(t) => Some(t),
            _ => None,
        }
    }

    /// Whether anything defines this option (before priorities and conditions).
    pub fn is_defined(&self) -> bool {
        !self.defs.is_empty()
    }

    /// The definitions at this node with `mkIf`/`mkMerge` discharged, the default added,
    /// only the highest `mkOverride` priority kept (one level of it removed), and sorted by
    /// `mkOrder` (one level of it removed), as nixpkgs' `mergeDefinitions` does.
    pub fn resolved(&self, ev: &mut Evaluator<'_>) -> Rc<Resolved> {
        if let Some(r) = self.resolved.get() {
            return r.clone();
        }
        let mut all = Vec::new();
        let mut uncertain = None;
        for def in &self.defs {
            self.discharge(ev, def.clone(), &mut all, &mut uncertain);
        }
        // Priorities: one `mkOverride` around a definition says it.
        let mut prioritised = Vec::with_capacity(all.len() + 1);
        for (def, value) in all {
            match self.strip(ev, &def, value, "override", "priority") {
                Ok((Some(priority), value)) => prioritised.push((Def { priority, ..def }, value)),
                Ok((None, value)) => prioritised.push((
                    Def {
                        priority: PRIORITY_PLAIN,
                        ..def
                    },
                    value,
                )),
                Err(reason) => {
                    uncertain.get_or_insert(reason);
                }
            }
        }
        if let NodeKind::Option(decl) = &self.kind
            && let Some(default) = &decl.default
        {
            let def = Def {
                value: default.clone(),
                file: None,
                pos: decl.pos,
                value_pos: None,
                priority: PRIORITY_OPTION_DEFAULT,
                maybe: false,
                seq: 0,
            };
            match ev.force(default, decl.pos) {
                Ok(value) => prioritised.push((def, value)),
                Err(e) => {
                    uncertain.get_or_insert_with(|| format!("the default failed: {}", e.message));
                    if let Some(ctx) = self.ctx() {
                        ctx.report_error(e);
                    }
                }
            }
        }
        let best_sure = prioritised
            .iter()
            .filter(|(d, _)| !d.maybe)
            .map(|(d, _)| d.priority)
            .min();
        let best = prioritised.iter().map(|(d, _)| d.priority).min();
        if let (Some(best), Some(sure)) = (best, best_sure)
            && best < sure
        {
            uncertain.get_or_insert_with(|| {
                "a definition under `mkIf` with an unknown condition may override it".into()
            });
        }
        let keep = best_sure.or(best);
        let kept: Vec<(Def, Value)> = prioritised
            .into_iter()
            .filter(|(d, _)| Some(d.priority) == keep)
            .collect();
        // Orders: one `mkOrder` around a definition says where it goes (stable).
        let defs = if kept
            .iter()
            .any(|(_, v)| property(ev, v).as_deref() == Some("order"))
        {
            let mut ordered = Vec::with_capacity(kept.len());
            for (def, value) in kept {
                match self.strip(ev, &def, value, "order", "priority") {
                    Ok((order, value)) => {
                        ordered.push((order.unwrap_or(ORDER_DEFAULT), (def, value)))
                    }
                    Err(reason) => {
                        uncertain.get_or_insert(reason);
                    }
                }
            }
            ordered.sort_by_key(|(order, _)| *order);
            ordered.into_iter().map(|(_, d)| d).collect()
        } else {
            kept
        };
        let r = Rc::new(Resolved { defs, uncertain });
        let _ = self.resolved.set(r.clone());
        r
    }

    /// One level of the property `kind` (`override` or `order`) taken off a value: its
    /// number and its content, or the value as it is. `Err` when it cannot be known.
    fn strip(
        &self,
        ev: &mut Evaluator<'_>,
        def: &Def,
        value: Value,
        kind: &str,
        field: &str,
    ) -> Result<(Option<i64>, Value), String> {
        if property(ev, &value).as_deref() != Some(kind) {
            return Ok((None, value));
        }
        let Value::Attrs(attrs) = &value else {
            return Ok((None, value));
        };
        let number = match attrs.get(field).map(|p| ev.force(&p.clone(), def.pos)) {
            Some(Ok(Value::Int(p))) => Some(p),
            Some(Ok(Value::Unknown(u))) => return Err(u.reason.clone()),
            Some(Err(e)) => return Err(self.failed(e)),
            _ => None,
        };
        match attrs.get("content").map(|c| ev.force(&c.clone(), def.pos)) {
            Some(Ok(content)) => Ok((number, content)),
            Some(Err(e)) => Err(self.failed(e)),
            None => Ok((number, Value::Null)),
        }
    }

    /// Reports an error met while merging; the reason a value is not known.
    fn failed(&self, e: Box<EvalError>) -> String {
        let reason = format!("a definition failed: {}", e.message);
        if let Some(ctx) = self.ctx() {
            ctx.report_error(e);
        }
        reason
    }

    /// `mkIf` and `mkMerge` around a definition discharged (nixpkgs' `dischargeProperties`):
    /// the definitions it stands for, forced.
    fn discharge(
        &self,
        ev: &mut Evaluator<'_>,
        def: Def,
        out: &mut Vec<(Def, Value)>,
        uncertain: &mut Option<String>,
    ) {
        let Some(ctx) = self.ctx() else { return };
        let value = match ev.force(&def.value, def.pos) {
            Ok(v) => v,
            Err(e) => {
                uncertain.get_or_insert_with(|| format!("a definition failed: {}", e.message));
                ctx.report_error(e);
                return;
            }
        };
        let kind = property(ev, &value);
        let Value::Attrs(attrs) = &value else {
            out.push((def, value));
            return;
        };
        let field = |name: &str| attrs.get(name).cloned();
        match (kind.as_deref(), field("content")) {
            (Some("if"), Some(content)) => {
                let condition =
                    field("condition").unwrap_or_else(|| Thunk::value(Value::Bool(true)));
                match ev.force(&condition, def.pos) {
                    Ok(Value::Bool(true)) => self.discharge(
                        ev,
                        Def {
                            value: content,
                            ..def
                        },
                        out,
                        uncertain,
                    ),
                    Ok(Value::Bool(false)) => {}
                    Ok(Value::Unknown(u)) => {
                        ctx.note_unknown(
                            &self.path,
                            &format!("`mkIf` condition: {}", u.reason),
                            def.pos,
                        );
                        self.discharge(
                            ev,
                            Def {
                                value: content,
                                maybe: true,
                                ..def
                            },
                            out,
                            uncertain,
                        )
                    }
                    Ok(other) => {
                        uncertain.get_or_insert_with(|| "`mkIf` of a non-Boolean".into());
                        ctx.report(ModuleDiagnostic {
                            code: Code::N002,
                            message: format!(
                                "the condition of `mkIf` is {} while a Boolean was expected",
                                other.describe()
                            ),
                            pos: def.pos,
                            labels: Vec::new(),
                            error: None,
                        })
                    }
                    Err(e) => {
                        uncertain.get_or_insert_with(|| {
                            format!("an `mkIf` condition failed: {}", e.message)
                        });
                        ctx.report_error(e);
                    }
                }
            }
            (Some("merge"), _) => match field("contents").map(|c| ev.force(&c, def.pos)) {
                Some(Ok(Value::List(items))) => {
                    for item in items.iter() {
                        let pos = ev.thunk_pos(item).or(def.pos);
                        self.discharge(
                            ev,
                            Def {
                                value: item.clone(),
                                pos,
                                ..def.clone()
                            },
                            out,
                            uncertain,
                        );
                    }
                }
                Some(Ok(Value::Unknown(u))) => {
                    uncertain.get_or_insert_with(|| u.reason.clone());
                }
                Some(Err(e)) => {
                    uncertain.get_or_insert_with(|| format!("a definition failed: {}", e.message));
                    ctx.report_error(e);
                }
                _ => {}
            },
            _ => out.push((def, value)),
        }
    }

    /// The definitions of a namespace pushed down into its keys (nixpkgs'
    /// `pushDownProperties`): `mkMerge` spread, `mkIf` and `mkOverride` moved onto each key's
    /// definition. No condition is evaluated: which keys a module defines never depends on
    /// `config`, so `config = lib.mkIf cfg.enable { ... }` may read the options it defines.
    fn push_down(
        &self,
        ev: &mut Evaluator<'_>,
        ctx: &ModuleContext,
        def: &Def,
        value: Thunk,
        pushed: &mut Vec<Pushed>,
        split: &mut Split,
    ) {
        let pos = ev.thunk_pos(&value).or(def.pos);
        let v = match ev.force(&value, pos) {
            Ok(v) => v,
            Err(e) => {
                (split.open).get_or_insert_with(|| format!("a definition failed: {}", e.message));
                ctx.report_error(e);
                return;
            }
        };
        let Value::Attrs(attrs) = &v else {
            match &v {
                Value::Unknown(u) => {
                    ctx.note_unknown(&self.path, &u.reason, pos);
                    split.open.get_or_insert_with(|| u.reason.clone());
                }
                // A key no option declares, defined as something else than a set: a leaf.
                _ if matches!(self.kind, NodeKind::Free) => split.leaf = true,
                other => self.wrong_type(ctx, def, other, "an attribute set"),
            }
            return;
        };
        let field = |name: &str| attrs.get(name).cloned();
        match (property(ev, &v).as_deref(), field("content")) {
            (Some("merge"), _) => match field("contents").map(|c| ev.force(&c, pos)) {
                Some(Ok(Value::List(items))) => {
                    for item in items.iter() {
                        self.push_down(ev, ctx, def, item.clone(), pushed, split);
                    }
                }
                Some(Ok(Value::Unknown(u))) => {
                    split.open.get_or_insert_with(|| u.reason.clone());
                }
                Some(Err(e)) => {
                    (split.open)
                        .get_or_insert_with(|| format!("a definition failed: {}", e.message));
                    ctx.report_error(e);
                }
                _ => {}
            },
            (Some("if"), Some(content)) => {
                let condition =
                    field("condition").unwrap_or_else(|| Thunk::value(Value::Bool(true)));
                pushed.push(Pushed::If(condition));
                self.push_down(ev, ctx, def, content, pushed, split);
                pushed.pop();
            }
            (Some("override"), Some(content)) => {
                let priority =
                    field("priority").unwrap_or_else(|| Thunk::value(Value::Int(PRIORITY_PLAIN)));
                pushed.push(Pushed::Override(priority));
                self.push_down(ev, ctx, def, content, pushed, split);
                pushed.pop();
            }
            _ => {
                for a in &attrs.entries {
                    let mut value = a.value.clone();
                    for p in pushed.iter().rev() {
                        value = match p {
                            Pushed::If(c) => wrapped("if", "condition", c.clone(), value),
                            Pushed::Override(p) => {
                                wrapped("override", "priority", p.clone(), value)
                            }
                        };
                    }
                    split.out.entry(a.name.clone()).or_default().push(Def {
                        value,
                        file: def.file.clone(),
                        pos: a.pos.or(pos),
                        value_pos: ev.thunk_pos(&a.value),
                        priority: PRIORITY_PLAIN,
                        maybe: def.maybe,
                        seq: def.seq,
                    });
                }
            }
        }
    }

    /// The keys below this node, each with its definitions; `None` for a leaf.
    pub fn children(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Children>> {
        if let Some(c) = self.children.get() {
            return c.clone();
        }
        let children = self.compute_children(ev);
        let _ = self.children.set(children.clone());
        children
    }

    fn compute_children(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Children>> {
        let ctx = self.ctx()?;
        let children = match (&self.kind, self.type_info().map(|t| &t.kind)) {
            (NodeKind::Namespace { decls, freeform }, _) => {
                let Split {
                    out: split, open, ..
                } = self.split_namespace(ev, &ctx);
                // Keys below a namespace whose declarations clanc could not read may be
                // options with values it does not know.
                let unknown_decls =
                    (decls.open.clone()).or_else(|| self.decls_unknown.get().cloned().flatten());
                let mut map = BTreeMap::new();
                for (name, entry) in &decls.entries {
                    let path = join(&self.path, name);
                    let defs = split.get(name).cloned().unwrap_or_default();
                    let kind = match entry {
                        DeclEntry::Option(d) => NodeKind::Option(d.clone()),
                        DeclEntry::Ns(ns) => NodeKind::Namespace {
                            decls: ns.clone(),
                            freeform: None,
                        },
                    };
                    map.insert(
                        name.clone(),
                        self.make(path, kind, defs, Some(name.clone())),
                    );
                }
                for (name, defs) in split {
                    if map.contains_key(&name) {
                        continue;
                    }
                    // `freeformType = attrsOf t`: each undeclared key has type `t`.
                    let kind = match freeform.as_deref().map(|t| &t.kind) {
                        Some(TypeKind::AttrsOf { elem, .. }) => {
                            NodeKind::Element(Rc::new((**elem).clone()))
                        }
                        Some(_) => NodeKind::Element(Rc::new(TypeInfo::anything())),
                        None => NodeKind::Free,
                    };
                    let path = join(&self.path, &name);
                    let node = self.make(path, kind, defs, Some(name.clone()));
                    if matches!(node.kind, NodeKind::Free) {
                        let _ = node.decls_unknown.set(unknown_decls.clone());
                    }
                    map.insert(name, node);
                }
                self.apply_aliases(&mut map);
                Children { map, open }
            }
            // A key no option declares: a namespace as long as its definitions are sets
            // (pushed down like a namespace's: a condition never decides its keys).
            (NodeKind::Free, _) => {
                let Split { out, open, leaf } = self.split_namespace(ev, &ctx);
                if leaf {
                    return None;
                }
                let unknown_decls = self.decls_unknown.get().cloned().flatten();
                let map = out
                    .into_iter()
                    .map(|(name, defs)| {
                        let path = join(&self.path, &name);
                        let node = self.make(path, NodeKind::Free, defs, Some(name.clone()));
                        let _ = node.decls_unknown.set(unknown_decls.clone());
                        (name, node)
                    })
                    .collect();
                Children { map, open }
            }
            (_, Some(TypeKind::Submodule { .. })) => {
                let sub = self.sub_evaluation(ev)?;
                let children = sub.root.children(ev)?;
                // A definition of the element that failed (reported) or that clanc cannot see
                // into may have held any key.
                let failed = (self.resolved(ev).uncertain.clone())
                    .or_else(|| sub.failed.as_ref().map(|f| f.message.clone()))
                    .or_else(|| sub.open.clone());
                match failed {
                    Some(reason) if children.open.is_none() => Children {
                        map: children.map.clone(),
                        open: Some(reason),
                    },
                    _ => return Some(children),
                }
            }
            (
                _,
                Some(
                    TypeKind::NullOr(_)
                    | TypeKind::Either(..)
                    | TypeKind::CoercedTo { .. }
                    | TypeKind::One { inner: Some(_) },
                ),
            ) => {
                return self.derived(ev)?.children(ev);
            }
            (
                _,
                Some(
                    TypeKind::AttrsOf { .. }
                    | TypeKind::Anything
                    | TypeKind::Unspecified
                    | TypeKind::Attrs,
                ),
            ) => {
                let elem: Option<Rc<TypeInfo>> = match self.type_info().map(|t| &t.kind) {
                    Some(TypeKind::AttrsOf { elem, .. }) => Some(Rc::new((**elem).clone())),
                    Some(TypeKind::Anything) => Some(Rc::new(TypeInfo::anything())),
                    Some(_) => Some(Rc::new(TypeInfo::unspecified())),
                    None => None,
                };
                let (split, open) = self.split_typed(ev, &ctx)?;
                let map = split
                    .into_iter()
                    .map(|(name, defs)| {
                        let path = join(&self.path, &name);
                        let kind = match &elem {
                            Some(t) => NodeKind::Element(t.clone()),
                            None => NodeKind::Free,
                        };
                        (name.clone(), self.make(path, kind, defs, Some(name)))
                    })
                    .collect();
                Children { map, open }
            }
            _ => return None,
        };
        Some(Rc::new(children))
    }

    /// The definitions of a namespace's keys (see `push_down`).
    fn split_namespace(&self, ev: &mut Evaluator<'_>, ctx: &ModuleContext) -> Split {
        let mut split = Split::default();
        for def in &self.defs {
            self.push_down(ev, ctx, def, def.value.clone(), &mut Vec::new(), &mut split);
        }
        split
    }

    /// The definitions of the keys of a typed set: each winning definition contributes its
    /// attributes. `None` when a definition is not a set (a leaf after all).
    fn split_typed(
        &self,
        ev: &mut Evaluator<'_>,
        ctx: &ModuleContext,
    ) -> Option<(KeyedDefs, Option<String>)> {
        let resolved = self.resolved(ev);
        // A definition that failed (reported) or might win may hold keys: the set is open.
        let mut open = resolved.uncertain.clone();
        let mut out: KeyedDefs = BTreeMap::new();
        for (def, value) in &resolved.defs {
            match value {
                Value::Attrs(attrs) => {
                    for a in &attrs.entries {
                        out.entry(a.name.clone()).or_default().push(Def {
                            value: a.value.clone(),
                            file: def.file.clone(),
                            pos: a.pos.or(def.pos),
                            value_pos: ev.thunk_pos(&a.value),
                            priority: PRIORITY_PLAIN,
                            maybe: def.maybe,
                            seq: def.seq,
                        });
                    }
                }
                Value::Unknown(u) => {
                    ctx.note_unknown(&self.path, &u.reason, def.pos);
                    open.get_or_insert_with(|| u.reason.clone());
                }
                other => {
                    match self.type_info() {
                        // The merged value reports it.
                        Some(ty) if matches!(ty.kind, TypeKind::AttrsOf { .. }) => {
                            self.wrong_type_value(def, other, ty);
                        }
                        _ => return None,
                    }
                }
            }
        }
        Some((out, open))
    }

    fn wrong_type(&self, ctx: &ModuleContext, def: &Def, value: &Value, expected: &str) {
        let strict = self.scope.checked.get().then_some(Code::N002);
        let Some(code) = self.scope.settings.type_code.or(strict) else {
            return;
        };
        // An unknown value may have any type.
        if let Value::Unknown(u) = value {
            return ctx.note_unknown(&self.path, &u.reason, def.value_pos.or(def.pos));
        }
        ctx.report(ModuleDiagnostic {
            code,
            message: format!(
                "`{}` must be {expected}, but it is {}",
                self.path,
                describe_value(value)
            ),
            pos: def.value_pos.or(def.pos),
            labels: Vec::new(),
            error: None,
        });
    }

    fn wrong_type_value(&self, def: &Def, value: &Value, ty: &TypeInfo) {
        if let Some(ctx) = self.ctx() {
            self.wrong_type(&ctx, def, value, &format!("of type `{}`", ty.describe()));
        }
    }

    /// Definitions of renamed options (`mkRenamedOptionModule`) count for their new name:
    /// a sibling, or an option below a sibling (as `{ new.path = value; }` definitions of
    /// the sibling).
    fn apply_aliases(&self, map: &mut BTreeMap<Name, Rc<Node>>) {
        let aliases: Vec<(Name, Vec<Name>)> = map
            .iter()
            .filter_map(|(name, node)| match &node.kind {
                NodeKind::Option(d) => d.alias_of.clone().map(|to| (name.clone(), to)),
                _ => None,
            })
            .collect();
        let here: Vec<&str> = self
            .path
            .strip_prefix(self.scope.settings.prefix.as_str())
            .unwrap_or(&self.path)
            .split('.')
            .filter(|p| !p.is_empty())
            .collect();
        for (from, to) in aliases {
            // `to` is a path from the evaluation's root; only targets below this node's
            // parent namespace are followed, others stay where written.
            if to.len() <= here.len() || to.iter().zip(&here).any(|(a, b)| **a != **b) {
                continue;
            }
            let target = to[here.len()].clone();
            let rest = &to[here.len() + 1..];
            let (Some(src), Some(dst)) = (map.get(&from), map.get(&target)) else {
                continue;
            };
            let mut defs = dst.defs.clone();
            defs.extend(src.defs.iter().map(|d| {
                let mut value = d.value.clone();
                for name in rest.iter().rev() {
                    value = Thunk::value(Value::attrs(Attrs::from_unsorted(vec![Attr {
                        name: name.clone(),
                        value,
                        pos: d.pos,
                    }])));
                }
                Def { value, ..d.clone() }
            }));
            let node = self.make(
                dst.path.clone(),
                clone_kind(&dst.kind),
                defs,
                dst.name_arg.clone(),
            );
            map.insert(target, node);
        }
    }

    /// The evaluation of a submodule-typed node.
    pub fn sub_evaluation(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Evaluation>> {
        if let Some(s) = self.sub.get() {
            return s.clone();
        }
        let ctx = self.ctx()?;
        let Some(TypeKind::Submodule {
            modules,
            special_args,
            shorthand_only_config,
        }) = self.type_info().map(|t| &t.kind)
        else {
            return None;
        };
        let mut sources: Vec<ModuleSource> = modules
            .iter()
            .map(|m| ModuleSource::new(m.clone(), None, None))
            .collect();
        let (defined, _) = self.as_modules(ev);
        sources.extend(defined.into_iter().map(|m| ModuleSource {
            config_only: *shorthand_only_config,
            ..m
        }));
        let mut args = Vec::new();
        if let Some(special) = special_args
            && let Ok(Value::Attrs(a)) = ev.force(special, None)
        {
            args.extend(a.entries.iter().map(|a| (a.name.clone(), a.value.clone())));
        }
        if let Some(name) = &self.name_arg {
            args.push((
                Name::from("name"),
                Thunk::value(Value::string(name.to_string())),
            ));
        }
        let settings = &self.scope.settings;
        let below = settings.checked_below.clone();
        let checked = below.as_ref().and_then(|(prefix, code)| {
            let inside = self.path == *prefix || self.path.starts_with(&format!("{prefix}."));
            inside.then_some(*code)
        });
        let settings = EvalSettings {
            prefix: self.path.clone(),
            type_code: settings.type_code.or(checked),
            checked_below: below,
            open_world: settings.open_world.clone(),
            strict: settings.strict,
        };
        let sub = evaluate(&ctx, ev, sources, args, settings);
        let _ = self.sub.set(Some(sub.clone()));
        Some(sub)
    }

    /// The definitions of a deferred module option (`clan.machines.<m>`, a role's
    /// `interface`) as modules, as NixOS merges them: with `mkIf`/`mkMerge`/`mkOverride`
    /// around a definition discharged and only the highest priority kept. Also why they may
    /// be incomplete (a definition failed, or sits under an unknown `mkIf` and might win).
    pub fn as_modules(&self, ev: &mut Evaluator<'_>) -> (Vec<ModuleSource>, Option<String>) {
        let resolved = self.resolved(ev);
        let modules = (resolved.defs.iter())
            .map(|(def, value)| ModuleSource {
                seq: Some(def.seq),
                ..ModuleSource::new(Thunk::value(value.clone()), def.file.clone(), def.pos)
            })
            .collect();
        (modules, resolved.uncertain.clone())
    }

    /// The merged value, as a thunk (forced on demand).
    pub fn value_thunk(&self) -> Thunk {
        self.value
            .get_or_init(|| {
                let this = self.this.clone();
                Thunk::native("option value", move |ev, pos| match this.upgrade() {
                    Some(node) => node.merge(ev, pos),
                    None => Ok(ev.unknown("the module evaluation has ended", pos)),
                })
            })
            .clone()
    }

    /// The first position that defines this node.
    pub fn first_pos(&self) -> Option<Pos> {
        self.defs.iter().find_map(|d| d.pos)
    }

    /// The node at a path below this one, descending into submodules.
    fn descend(&self, ev: &mut Evaluator<'_>, path: &[&str]) -> Option<Rc<Node>> {
        let mut node = self.this.upgrade()?;
        for key in path {
            let children = node.children(ev)?;
            node = children.map.get(*key)?.clone();
        }
        Some(node)
    }
}

// ---- merging values ----------------------------------------------------------------------

impl Node {
    fn merge(&self, ev: &mut Evaluator<'_>, pos: Option<Pos>) -> EvalResult<Value> {
        let value = self.merge_raw(ev, pos)?;
        if let NodeKind::Option(decl) = &self.kind
            && let Some(apply) = &decl.apply
        {
            let f = ev.force(apply, pos)?;
            return ev.apply(f, Thunk::value(value), pos);
        }
        Ok(value)
    }

    fn merge_raw(&self, ev: &mut Evaluator<'_>, pos: Option<Pos>) -> EvalResult<Value> {
        if let NodeKind::Namespace { .. } = self.kind {
            return self.attrs_of_children(ev);
        }
        // A key no option declares whose definitions are sets: a namespace.
        if let NodeKind::Free = self.kind
            && self.is_defined()
            && self.children(ev).is_some()
        {
            return self.attrs_of_children(ev);
        }
        // A renamed option reads as its new name.
        if let NodeKind::Option(decl) = &self.kind
            && let Some(to) = &decl.alias_of
            && let Some(root) = self.scope.root()
        {
            let to: Vec<&str> = to.iter().map(|n| &**n).collect();
            return match root.descend(ev, &to) {
                Some(target) => {
                    let t = target.value_thunk();
                    ev.force(&t, pos)
                }
                None => Ok(ev.unknown(format!("`{}` is renamed", self.path), pos)),
            };
        }
        let resolved = self.resolved(ev);
        if let Some(reason) = &resolved.uncertain {
            return Ok(ev.unknown(
                format!("`{}`: {reason}", self.path),
                self.first_pos().or(pos),
            ));
        }
        let Some(ty) = self.type_info().cloned() else {
            return self.merge_free(ev, &resolved, pos);
        };
        if resolved.defs.is_empty() {
            if let TypeKind::Submodule { .. } = ty.kind {
                return self.merge_as(ev, &ty, &[], pos);
            }
            if let Some(empty) = ty.empty_value() {
                return Ok(empty);
            }
            // A module clanc could not see into may define it.
            if !self.scope.complete.get() {
                return Ok(ev.unknown(format!("`{}` has no definition clanc sees", self.path), pos));
            }
            return Err(EvalError::eval(
                format!(
                    "The option `{}` was accessed but has no value defined. Try setting the option.",
                    self.path
                ),
                pos,
            ));
        }
        if let Some((_, Value::Unknown(u))) = resolved
            .defs
            .iter()
            .find(|(_, v)| matches!(v, Value::Unknown(_)))
            && (resolved.defs.len() == 1 || !self.merges_per_key())
        {
            return Ok(Value::Unknown(u.clone()));
        }
        // Definitions of the wrong type are reported; the value is then not known.
        let mut good = Vec::with_capacity(resolved.defs.len());
        let mut bad = false;
        for (def, v) in resolved.defs.iter() {
            match self.verdict(ev, &ty, v) {
                Verdict::Bad => {
                    self.wrong_type_value(def, v, &ty);
                    bad = true;
                }
                Verdict::Good | Verdict::Unknown => good.push((def.clone(), v.clone())),
            }
        }
        if good.is_empty() || (bad && self.scope.checked.get()) {
            return Ok(ev.unknown(
                format!("`{}` has a definition of the wrong type", self.path),
                pos,
            ));
        }
        self.merge_as(ev, &ty, &good, pos)
    }

    /// Whether a definition has the type: by the type's own `check` function in a strict
    /// evaluation (as NixOS), else by the shape clanc reads from the type.
    fn verdict(&self, ev: &mut Evaluator<'_>, ty: &TypeInfo, value: &Value) -> Verdict {
        if matches!(value, Value::Unknown(_)) {
            return Verdict::Unknown;
        }
        if self.scope.checked.get()
            && let Some(verdict) = check(ev, ty, value)
        {
            return if verdict { Verdict::Good } else { Verdict::Bad };
        }
        match ty.shallow_accepts(value) {
            Some(true) => Verdict::Good,
            Some(false) => Verdict::Bad,
            None => Verdict::Unknown,
        }
    }

    /// The merged value of (winning, checked) definitions of a type.
    fn merge_as(
        &self,
        ev: &mut Evaluator<'_>,
        ty: &TypeInfo,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        match &ty.kind {
            TypeKind::Submodule { .. } => match self.sub_evaluation(ev) {
                Some(sub) => ev.force(&sub.config, pos),
                None => Ok(ev.unknown("submodule", pos)),
            },
            TypeKind::AttrsOf { .. } => self.attrs_of_children(ev),
            TypeKind::ListOf { elem, .. } => self.merge_list(ev, elem, defs),
            TypeKind::NullOr(_) => {
                let nulls = defs
                    .iter()
                    .filter(|(_, v)| matches!(v, Value::Null))
                    .count();
                if nulls == defs.len() {
                    return Ok(Value::Null);
                }
                if nulls > 0 {
                    self.conflict(defs, "is defined both null and not null");
                    return Ok(
                        ev.unknown(format!("`{}` has conflicting definitions", self.path), pos)
                    );
                }
                self.derived_value(ev, pos)
            }
            TypeKind::Either(..) | TypeKind::CoercedTo { .. } => self.derived_value(ev, pos),
            TypeKind::One { inner } => {
                if defs.len() > 1 {
                    self.conflict(
                        defs,
                        "is defined multiple times while it is expected to be unique",
                    );
                    // As in NixOS the option has no value then: nothing downstream is checked
                    // against a guess.
                    return Ok(ev.unknown(
                        format!("`{}` has conflicting definitions", self.path),
                        defs.last().and_then(|(d, _)| d.pos),
                    ));
                }
                match inner {
                    Some(_) => self.derived_value(ev, pos),
                    None => Ok(defs[0].1.clone()),
                }
            }
            TypeKind::FunctionTo(elem) => Ok(self.merged_function(elem, defs)),
            TypeKind::DeferredModule { static_modules } => {
                let mut items: Vec<Thunk> = static_modules.clone();
                items.extend(defs.iter().map(|(d, v)| {
                    let mut entries = vec![attr(
                        "imports",
                        Thunk::value(Value::list(vec![Thunk::value(v.clone())])),
                    )];
                    if let Some(f) = &d.file {
                        entries.push(attr("_file", Thunk::value(Value::string(f.to_string()))));
                    }
                    Thunk::value(Value::attrs(Attrs::from_unsorted(entries)))
                }));
                Ok(Value::attrs(Attrs::from_unsorted(vec![attr(
                    "imports",
                    Thunk::value(Value::list(items)),
                )])))
            }
            TypeKind::Anything => self.merge_anything(ev, defs, pos),
            TypeKind::Unspecified => self.merge_default(ev, defs, pos),
            TypeKind::Attrs => {
                let mut merged = Attrs::default();
                for (_, v) in defs {
                    if let Value::Attrs(a) = v {
                        merged = merged.update(a);
                    }
                }
                Ok(Value::attrs(merged))
            }
            TypeKind::BoolByOr => Ok(Value::Bool(
                defs.iter().any(|(_, v)| matches!(v, Value::Bool(true))),
            )),
            TypeKind::Separated(sep) => {
                let parts: Vec<&str> = defs
                    .iter()
                    .filter_map(|(_, v)| match v {
                        Value::String(s) => Some(s.text()),
                        _ => None,
                    })
                    .collect();
                Ok(Value::string(parts.join(sep)))
            }
            TypeKind::Custom { merge } => {
                let loc: Vec<Thunk> = (self.path.split('.'))
                    .filter(|p| !p.is_empty())
                    .map(|p| Thunk::value(Value::string(p)))
                    .collect();
                let defs: Vec<Thunk> = defs
                    .iter()
                    .map(|(d, v)| {
                        let file = match &d.file {
                            Some(f) => Value::string(f.to_string()),
                            None => Value::string("<unknown-file>"),
                        };
                        Thunk::value(Value::attrs(Attrs::from_unsorted(vec![
                            attr("file", Thunk::value(file)),
                            attr("value", Thunk::value(v.clone())),
                        ])))
                    })
                    .collect();
                let f = ev.force(merge, pos)?;
                ev.apply_many(
                    f,
                    &[
                        Thunk::value(Value::list(loc)),
                        Thunk::value(Value::list(defs)),
                    ],
                    pos,
                )
            }
            TypeKind::Leaf { .. } => self.merge_equal(ev, defs, pos),
        }
    }

    /// A key no option declares: one definition is its value, sets merge key by key, lists
    /// concatenate, anything else must be equal. (NixOS would know its type; clanc does not.)
    fn merge_free(
        &self,
        ev: &mut Evaluator<'_>,
        resolved: &Resolved,
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        let defs = &resolved.defs;
        if defs.is_empty() {
            return Ok(ev.unknown(format!("`{}` has no definition", self.path), pos));
        }
        if defs.len() == 1 {
            return Ok(defs[0].1.clone());
        }
        if defs.iter().all(|(_, v)| matches!(v, Value::Attrs(_))) {
            return self.attrs_of_children(ev);
        }
        if defs.iter().all(|(_, v)| matches!(v, Value::List(_))) {
            let items: Vec<Thunk> = defs
                .iter()
                .flat_map(|(_, v)| match v {
                    Value::List(l) => l.to_vec(),
                    _ => Vec::new(),
                })
                .collect();
            return Ok(Value::list(items));
        }
        self.merge_equal(ev, defs, pos)
    }

    /// `types.anything`: the definitions must have one type; sets merge key by key,
    /// functions by their results, a package takes one definition, the rest must be equal.
    fn merge_anything(
        &self,
        ev: &mut Evaluator<'_>,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        let mut kinds = Vec::with_capacity(defs.len());
        for (_, v) in defs {
            kinds.push(match v {
                Value::Attrs(a) if a.get("outPath").is_some() || a.get("__toString").is_some() => {
                    "stringCoercibleSet"
                }
                other => other.type_name(),
            });
        }
        if kinds.contains(&"unknown") {
            return Ok(ev.unknown(
                format!("`{}` has a definition clanc cannot know", self.path),
                pos,
            ));
        }
        if kinds.iter().any(|k| *k != kinds[0]) {
            self.conflict(defs, "has conflicting option types");
            return Ok(ev.unknown(format!("`{}` has conflicting definitions", self.path), pos));
        }
        match kinds[0] {
            "set" => self.attrs_of_children(ev),
            "lambda" => Ok(self.merged_function(&TypeInfo::anything(), defs)),
            "stringCoercibleSet" if defs.len() > 1 => {
                self.conflict(
                    defs,
                    "is defined multiple times while it is expected to be unique",
                );
                Ok(ev.unknown(format!("`{}` has conflicting definitions", self.path), pos))
            }
            _ => self.merge_equal(ev, defs, pos),
        }
    }

    /// nixpkgs' `mergeDefaultOption` (`unspecified`, and options without a type).
    fn merge_default(
        &self,
        ev: &mut Evaluator<'_>,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        if defs.len() == 1 {
            return Ok(defs[0].1.clone());
        }
        if let Some((_, Value::Unknown(u))) =
            defs.iter().find(|(_, v)| matches!(v, Value::Unknown(_)))
        {
            return Ok(Value::Unknown(u.clone()));
        }
        let all = |f: fn(&Value) -> bool| defs.iter().all(|(_, v)| f(v));
        if all(|v| matches!(v, Value::Lambda(_) | Value::PrimOp(_))) {
            return Ok(self.merged_function(&TypeInfo::unspecified(), defs));
        }
        if all(|v| matches!(v, Value::List(_))) {
            let items: Vec<Thunk> = defs
                .iter()
                .flat_map(|(_, v)| match v {
                    Value::List(l) => l.to_vec(),
                    _ => Vec::new(),
                })
                .collect();
            return Ok(Value::list(items));
        }
        if all(|v| matches!(v, Value::Attrs(_))) {
            let mut merged = Attrs::default();
            for (_, v) in defs {
                if let Value::Attrs(a) = v {
                    merged = merged.update(a);
                }
            }
            return Ok(Value::attrs(merged));
        }
        if all(|v| matches!(v, Value::Bool(_))) {
            return Ok(Value::Bool(
                defs.iter().any(|(_, v)| matches!(v, Value::Bool(true))),
            ));
        }
        if all(|v| matches!(v, Value::String(_))) {
            let mut text = String::new();
            let mut context = false;
            for (_, v) in defs {
                if let Value::String(s) = v {
                    text.push_str(s.text());
                    context |= s.context;
                }
            }
            return Ok(Value::string_with(text, context));
        }
        if all(|v| matches!(v, Value::Int(_))) {
            return self.merge_equal(ev, defs, pos);
        }
        self.conflict(defs, "has definitions that cannot be merged");
        Ok(ev.unknown(format!("`{}` has conflicting definitions", self.path), pos))
    }

    /// A function whose result merges the results of the definitions (`functionTo`).
    fn merged_function(&self, elem: &TypeInfo, defs: &[(Def, Value)]) -> Value {
        let this = self.this.clone();
        let elem = Rc::new(elem.clone());
        let defs: Vec<Def> = defs
            .iter()
            .map(|(d, v)| Def {
                value: Thunk::value(v.clone()),
                ..d.clone()
            })
            .collect();
        Value::host(
            format!("option `{}`", self.path),
            1,
            move |ev, args, pos| {
                let Some(node) = this.upgrade() else {
                    return Ok(ev.unknown("the module evaluation has ended", pos));
                };
                let results: Vec<Def> = defs
                    .iter()
                    .map(|d| {
                        let f = d.value.clone();
                        let arg = args[0].clone();
                        Def {
                            value: Thunk::native("function result", move |ev, pos| {
                                let f = ev.force(&f, pos)?;
                                ev.apply(f, arg.clone(), pos)
                            }),
                            priority: PRIORITY_PLAIN,
                            ..d.clone()
                        }
                    })
                    .collect();
                let result = node.make(
                    format!("{}.<function body>", node.path),
                    NodeKind::Element(elem.clone()),
                    results,
                    node.name_arg.clone(),
                );
                if let Some(ctx) = node.ctx() {
                    ctx.kept.borrow_mut().push(result.clone());
                }
                let t = result.value_thunk();
                ev.force(&t, pos)
            },
        )
    }

    /// `listOf t`: the lists concatenated, each element merged as `t` (an element under
    /// `mkIf false` is left out).
    fn merge_list(
        &self,
        ev: &mut Evaluator<'_>,
        elem: &TypeInfo,
        defs: &[(Def, Value)],
    ) -> EvalResult<Value> {
        let elem = Rc::new(elem.clone());
        let mut items = Vec::new();
        let mut nodes = Vec::new();
        let mut n = 0;
        for (def, v) in defs {
            let Value::List(list) = v else { continue };
            for item in list.iter() {
                n += 1;
                let pos = ev.thunk_pos(item).or(def.pos);
                let node = self.make(
                    format!("{}.\"[definition {n}]\"", self.path),
                    NodeKind::Element(elem.clone()),
                    vec![Def {
                        value: item.clone(),
                        pos,
                        value_pos: pos,
                        priority: PRIORITY_PLAIN,
                        ..def.clone()
                    }],
                    self.name_arg.clone(),
                );
                let r = node.resolved(ev);
                if r.defs.is_empty() && r.uncertain.is_none() {
                    continue;
                }
                items.push(node.value_thunk());
                nodes.push(node);
            }
        }
        self.kept.borrow_mut().extend(nodes);
        Ok(Value::list(items))
    }

    /// The node this one merges as (see `Node::derived`).
    fn derived(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Node>> {
        if let Some(d) = self.derived.get() {
            return d.clone();
        }
        let derived = self.compute_derived(ev);
        let _ = self.derived.set(derived.clone());
        derived
    }

    fn compute_derived(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Node>> {
        let ty = self.type_info()?.clone();
        let resolved = self.resolved(ev);
        if resolved.uncertain.is_some() {
            return None;
        }
        let as_defs = |defs: &[(Def, Value)]| -> Vec<Def> {
            defs.iter()
                .map(|(d, v)| Def {
                    value: Thunk::value(v.clone()),
                    priority: PRIORITY_PLAIN,
                    ..d.clone()
                })
                .collect()
        };
        let (inner, defs): (TypeInfo, Vec<Def>) = match &ty.kind {
            TypeKind::NullOr(inner) => {
                let non_null: Vec<(Def, Value)> = (resolved.defs.iter())
                    .filter(|(_, v)| !matches!(v, Value::Null))
                    .cloned()
                    .collect();
                if non_null.is_empty() {
                    return None;
                }
                ((**inner).clone(), as_defs(&non_null))
            }
            TypeKind::One { inner: Some(inner) } => ((**inner).clone(), as_defs(&resolved.defs)),
            TypeKind::Either(left, right) => {
                let mut all_left = true;
                let mut all_right = true;
                for (_, v) in &resolved.defs {
                    match (check(ev, left, v), check(ev, right, v)) {
                        (Some(l), Some(r)) => {
                            all_left &= l;
                            all_right &= r;
                        }
                        // Which type merges them cannot be known.
                        _ => return None,
                    }
                }
                if all_left {
                    ((**left).clone(), as_defs(&resolved.defs))
                } else if all_right {
                    ((**right).clone(), as_defs(&resolved.defs))
                } else {
                    (
                        TypeInfo {
                            kind: TypeKind::One { inner: None },
                            ..ty.clone()
                        },
                        as_defs(&resolved.defs),
                    )
                }
            }
            TypeKind::CoercedTo { from, coerce, to } => {
                let mut defs = Vec::new();
                for (d, v) in &resolved.defs {
                    let value = match check(ev, from, v) {
                        Some(true) => Thunk::apply(
                            Value::host("coercedTo", 2, |ev, args, pos| {
                                let f = ev.force(&args[0], pos)?;
                                ev.apply(f, args[1].clone(), pos)
                            }),
                            vec![coerce.clone(), Thunk::value(v.clone())],
                        ),
                        Some(false) => Thunk::value(v.clone()),
                        None => return None,
                    };
                    defs.push(Def {
                        value,
                        priority: PRIORITY_PLAIN,
                        ..d.clone()
                    });
                }
                ((**to).clone(), defs)
            }
            _ => return None,
        };
        Some(self.make(
            self.path.clone(),
            NodeKind::Element(Rc::new(inner)),
            defs,
            self.name_arg.clone(),
        ))
    }

    fn derived_value(&self, ev: &mut Evaluator<'_>, pos: Option<Pos>) -> EvalResult<Value> {
        match self.derived(ev) {
            Some(node) => {
                let t = node.value_thunk();
                ev.force(&t, pos)
            }
            None => Ok(ev.unknown(
                format!(
                    "`{}`: which type merges its definitions is not known",
                    self.path
                ),
                pos,
            )),
        }
    }

    /// Whether definitions of this node merge key by key (so one unknown definition does not
    /// make the whole value unknown).
    fn merges_per_key(&self) -> bool {
        matches!(
            self.type_info().map(|t| &t.kind),
            Some(
                TypeKind::Submodule { .. }
                    | TypeKind::AttrsOf { .. }
                    | TypeKind::ListOf { .. }
                    | TypeKind::Anything
            ) | None
        )
    }

    /// The set of this node's children's values. Keys of `attrsOf` (and `anything`) whose
    /// definitions all vanish under `mkIf false` are left out, as nixpkgs does, which
    /// evaluates their conditions; other keys stay (`lazyAttrsOf`, and keys no option
    /// declares: NixOS would know them, clanc does not).
    fn attrs_of_children(&self, ev: &mut Evaluator<'_>) -> EvalResult<Value> {
        let Some(children) = self.children(ev) else {
            return Ok(ev.unknown(format!("`{}` is not an attribute set", self.path), None));
        };
        let drops_vanished = |node: &Node| -> bool {
            let ty = match &self.kind {
                NodeKind::Namespace { freeform, .. } => match node.kind {
                    NodeKind::Element(_) => freeform.as_deref(),
                    _ => None,
                },
                _ => self.type_info(),
            };
            matches!(
                ty.map(|t| &t.kind),
                Some(TypeKind::AttrsOf { lazy: false, .. } | TypeKind::Anything)
            )
        };
        let mut entries = Vec::with_capacity(children.map.len() + 1);
        // A key that only a definition under an unknown `mkIf` gives may be missing.
        let mut uncertain_key = false;
        for (name, node) in &children.map {
            if matches!(node.kind, NodeKind::Free) && node.defs.is_empty() {
                continue;
            }
            if drops_vanished(node) {
                let r = node.resolved(ev);
                if r.defs.is_empty() && r.uncertain.is_none() {
                    continue;
                }
                uncertain_key |= r.defs.iter().all(|(d, _)| d.maybe);
            }
            entries.push(Attr {
                name: name.clone(),
                value: node.value_thunk(),
                pos: node.first_pos(),
            });
        }
        let unknown_decls = match &self.kind {
            NodeKind::Namespace { decls, .. } => decls.open.clone(),
            _ => None,
        }
        .or_else(|| self.decls_unknown.get().cloned().flatten());
        // Outside a strict evaluation whose every module clanc saw, options clanc does not
        // model (NixOS', clan-core's, flake-parts' beyond its models) may sit in any
        // namespace: a key the value lacks is unknown, not missing.
        let partial = match &self.kind {
            // (With a freeform type, every key is one of its values: none is missing.)
            NodeKind::Namespace {
                decls,
                freeform: None,
            } => decls.modelled && !self.scope.checked.get(),
            NodeKind::Free => self.scope.partial.get(),
            _ => false,
        }
        .then(|| "options clanc does not model may be missing".to_string());
        // An `attrsOf` option the clan's own modules declare: its keys are what the modules
        // define (the unseen NixOS modules do not know the option), so it stays closed in an
        // open world unless a key may be missing.
        let own_attrs_of = match &self.kind {
            NodeKind::Option(decl) => {
                matches!(decl.ty.kind, TypeKind::AttrsOf { .. })
                    && decl
                        .pos
                        .is_some_and(|p| !super::known::is_builtin(&ev.file_path(p.file)))
                    && !uncertain_key
            }
            _ => false,
        };
        let open_world = (self.scope.settings.open_world.as_ref()).filter(|_| !own_attrs_of);
        if let Some(reason) = (children.open.as_ref())
            .or(unknown_decls.as_ref())
            .or(open_world)
            .or(partial.as_ref())
        {
            let what = match self.path.as_str() {
                "" => format!("the configuration ({reason})"),
                path => format!("`{path}` ({reason})"),
            };
            entries.push(attr(
                crate::eval::OPEN_MARKER,
                Thunk::value(Value::string(what)),
            ));
        }
        Ok(Value::attrs(Attrs::from_unsorted(entries)))
    }

    /// All definitions must be equal (`mergeEqualOption`); otherwise C012.
    fn merge_equal(
        &self,
        ev: &mut Evaluator<'_>,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        let first = &defs[0];
        for other in &defs[1..] {
            match ev.equal(&first.1, &other.1, pos)? {
                Ok(true) => {}
                Ok(false) => {
                    self.conflict(
                        &[first.clone(), other.clone()],
                        "has conflicting definition values",
                    );
                    return Ok(ev.unknown(
                        format!("`{}` has conflicting definitions", self.path),
                        other.0.pos,
                    ));
                }
                Err(u) => return Ok(Value::Unknown(u)),
            }
        }
        Ok(first.1.clone())
    }

    /// Reports conflicting definitions (C012): at the one written last, with the others
    /// as labels. Definitions under an unknown `mkIf` conflict with nothing.
    fn conflict(&self, defs: &[(Def, Value)], what: &str) {
        let Some(ctx) = self.ctx() else { return };
        if defs.iter().any(|(d, _)| d.maybe) {
            return;
        }
        let mut defs: Vec<&(Def, Value)> = defs.iter().collect();
        defs.sort_by_key(|(d, _)| d.seq);
        let Some((last, rest)) = defs.split_last() else {
            return;
        };
        let labels = rest
            .iter()
            .filter_map(|(d, v)| {
                d.pos
                    .map(|p| (p, format!("also defined here ({})", describe_value(v))))
            })
            .collect();
        ctx.report(ModuleDiagnostic {
            code: Code::C012,
            message: format!("the option `{}` {what}", self.path),
            pos: last.0.pos,
            labels,
            error: None,
        });
    }

    /// In a strict evaluation, reports every definition of an option no module declares
    /// (nixpkgs' "The option `x' does not exist"), unless `_module.check` is false.
    fn check_declared(&self, ev: &mut Evaluator<'_>) {
        if let Some(check) = self.descend(ev, &["_module", "check"])
            && check.is_defined()
            && let Ok(Value::Bool(false)) = ev.force(&check.value_thunk(), None)
        {
            return;
        }
        self.report_undeclared(ev, true);
    }

    fn report_undeclared(&self, ev: &mut Evaluator<'_>, root: bool) {
        let NodeKind::Namespace { freeform: None, .. } = &self.kind else {
            return;
        };
        let Some(children) = self.children(ev) else {
            return;
        };
        let Some(ctx) = self.ctx() else { return };
        for (name, node) in &children.map {
            if root && &**name == "_module" {
                continue;
            }
            match &node.kind {
                NodeKind::Free if node.is_defined() => {
                    let labels = (node.defs.iter().skip(1))
                        .filter_map(|d| d.pos.map(|p| (p, "also defined here".to_string())))
                        .collect();
                    ctx.report(ModuleDiagnostic {
                        code: Code::N002,
                        message: format!("The option `{}` does not exist", node.path),
                        pos: node.first_pos(),
                        labels,
                        error: None,
                    });
                }
                NodeKind::Namespace { .. } => node.report_undeclared(ev, false),
                _ => {}
            }
        }
    }
}

/// A type's own `check` of a value: `None` when it cannot be known (no check function, an
/// unknown value, or the check failed).
fn check(ev: &mut Evaluator<'_>, ty: &TypeInfo, value: &Value) -> Option<bool> {
    if matches!(value, Value::Unknown(_)) {
        return None;
    }
    let Some(f) = &ty.check else {
        return ty.shallow_accepts(value);
    };
    let f = ev.force(f, None).ok()?;
    match ev.apply(f, Thunk::value(value.clone()), None).ok()? {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

fn clone_kind(kind: &NodeKind) -> NodeKind {
    match kind {
        NodeKind::Namespace { decls, freeform } => NodeKind::Namespace {
            decls: decls.clone(),
            freeform: freeform.clone(),
        },
        NodeKind::Option(d) => NodeKind::Option(d.clone()),
        NodeKind::Element(t) => NodeKind::Element(t.clone()),
        NodeKind::Free => NodeKind::Free,
    }
}

impl Evaluation {
    /// The node at a path below this evaluation's root, descending into submodules.
    pub fn node(&self, ev: &mut Evaluator<'_>, path: &[&str]) -> Option<Rc<Node>> {
        self.root.descend(ev, path)
    }
}
