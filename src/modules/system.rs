//! The NixOS module system, natively: collecting modules (`imports`, functions called with
//! `config`/`lib`/special arguments, paths, shorthand), declaring options, pushing definitions
//! down the option tree (`mkIf`, `mkMerge`, `mkOverride`, `mkOrder`), and merging them by type
//! with priorities. Everything is lazy, as in NixOS: `config` is an attribute set whose values
//! are merged the first time they are forced, so modules may refer to each other's results.
//!
//! Unlike NixOS it keeps every definition with its position (the model reports spans), never
//! fails on what it cannot know (`mkIf` with an unknown condition makes a definition "maybe",
//! which never produces a conflict), accepts definitions of undeclared options (a machine's
//! NixOS options are not modelled), and reports conflicts as diagnostics instead of aborting.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use crate::eval::{Attr, Attrs, EvalError, EvalResult, Evaluator, Pos, Thunk, Value};

use super::types::{TypeInfo, describe_value};

/// A name in the option tree.
pub type Name = std::sync::Arc<str>;

/// Priorities of `mkOverride` (lower wins).
pub const PRIORITY_PLAIN: i64 = 100;
pub const PRIORITY_OPTION_DEFAULT: i64 = 1500;

/// Something found while merging: a conflict, a value of the wrong type, an evaluation error.
#[derive(Clone, Debug)]
pub struct ModuleDiagnostic {
    pub code: &'static str,
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
    /// Option declarations by the identity of the `options` value that made them.
    decl_cache: RefCell<std::collections::HashMap<usize, (Thunk, Rc<DeclNs>)>>,
}

impl ModuleContext {
    pub fn new(lib: Thunk) -> Rc<ModuleContext> {
        Rc::new(ModuleContext {
            lib,
            diagnostics: RefCell::default(),
            unknowns: RefCell::default(),
            evaluations: RefCell::default(),
            decl_cache: RefCell::default(),
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
}

impl ModuleSource {
    pub fn new(value: Thunk, file: Option<Rc<str>>, pos: Option<Pos>) -> ModuleSource {
        ModuleSource {
            value,
            file,
            pos,
            config_only: false,
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
    pub type_code: Option<&'static str>,
    /// Below this option path (in submodules), definitions of the wrong type are reported
    /// with this code.
    pub checked_below: Option<(String, &'static str)>,
    /// The evaluation also has modules clanc does not see (a machine's NixOS or nix-darwin
    /// modules, why in the text): the configuration the modules read through `config` is
    /// open everywhere, so an attribute no seen module defines is unknown, never missing.
    /// What the model reads from the nodes is not affected.
    pub open_world: Option<String>,
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

/// One evaluation of a list of modules: the root of a configuration or of a submodule.
pub struct Evaluation {
    pub settings: Rc<EvalSettings>,
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
    pub defs: Vec<Def>,
    ctx: Weak<ModuleContext>,
    settings: Rc<EvalSettings>,
    this: Weak<Node>,
    resolved: OnceCell<Rc<Resolved>>,
    children: OnceCell<Rc<Children>>,
    sub: OnceCell<Option<Rc<Evaluation>>>,
    value: OnceCell<Thunk>,
    /// Extra arguments for submodules below (`name`).
    name_arg: Option<Name>,
}

pub enum NodeKind {
    Namespace {
        decls: Rc<DeclNs>,
        freeform: Option<Rc<TypeInfo>>,
    },
    Option(Rc<Decl>),
    /// An element of `attrsOf`, or a freeform key.
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

/// Evaluates a list of modules. `args` are the special arguments every module function
/// gets (besides `config`, `options` and `lib`).
pub fn evaluate(
    ctx: &Rc<ModuleContext>,
    ev: &mut Evaluator<'_>,
    modules: Vec<ModuleSource>,
    args: Vec<(Name, Thunk)>,
    settings: EvalSettings,
) -> Rc<Evaluation> {
    let settings = Rc::new(settings);
    let root_slot: Rc<OnceCell<Weak<Node>>> = Rc::new(OnceCell::new());
    let config = {
        let slot = root_slot.clone();
        Thunk::native("config", move |ev, _| {
            match slot.get().and_then(Weak::upgrade) {
                Some(root) => {
                    let t = root.value_thunk();
                    ev.force(&t, None)
                }
                None => Ok(Value::Null),
            }
        })
    };
    let mut arg_attrs: Vec<Attr> = args
        .into_iter()
        .map(|(name, value)| Attr {
            name,
            value,
            pos: None,
        })
        .collect();
    arg_attrs.push(attr("config", config.clone()));
    arg_attrs.push(attr("lib", ctx.lib.clone()));
    arg_attrs.push(attr(
        "options",
        Thunk::value(ev.unknown("the `options` module argument is not modelled", None)),
    ));
    let base_args = Rc::new(Attrs::from_unsorted(arg_attrs));

    let mut collector = Collector {
        ctx,
        base_args,
        seen: Vec::new(),
        modules: Vec::new(),
        imports: Vec::new(),
        open: None,
        failed: None,
    };
    for m in modules {
        let _ = collector.collect(ev, m, 0);
    }
    let Collector {
        modules: collected,
        imports,
        open,
        failed,
        ..
    } = collector;

    let mut decls = DeclNs::default();
    let mut freeform = None;
    let mut defs = Vec::new();
    for m in &collected {
        if let Some(options) = &m.options {
            let declared = declared(ctx, ev, options, m.file.clone(), &settings.prefix);
            merge_ns(&mut decls, &declared);
        }
        if let Some(ff) = &m.freeform {
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
            });
        }
    }
    let root = Node::new(
        ctx,
        &settings,
        settings.prefix.clone(),
        NodeKind::Namespace {
            decls: Rc::new(decls),
            freeform,
        },
        defs,
        None,
    );
    let _ = root_slot.set(Rc::downgrade(&root));
    let evaluation = Rc::new(Evaluation {
        settings,
        config,
        root,
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
}

struct Collector<'c> {
    ctx: &'c Rc<ModuleContext>,
    base_args: Rc<Attrs>,
    /// Keys of modules already collected (file paths, `key` attributes).
    seen: Vec<Rc<str>>,
    modules: Vec<Collected>,
    imports: Vec<ImportRecord>,
    open: Option<String>,
    failed: Option<ModuleFailure>,
}

/// Attributes of a module that are not configuration, even in shorthand form.
const MODULE_META: &[&str] = &[
    "_class",
    "_file",
    "key",
    "disabledModules",
    "imports",
    "require",
];

impl Collector<'_> {
    /// Collects `m` and what it imports; fails when `m` itself could not be read (the error
    /// is reported, and the evaluation's first failure kept).
    fn collect(
        &mut self,
        ev: &mut Evaluator<'_>,
        m: ModuleSource,
        depth: usize,
    ) -> Result<(), ModuleFailure> {
        if depth > 200 {
            return Err(self.fail(ModuleDiagnostic {
                code: "N005",
                message: "modules import each other more than 200 levels deep".into(),
                pos: m.pos,
                labels: Vec::new(),
                error: None,
            }));
        }
        let mut file = m.file.clone();
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
            if self.seen.contains(&path) {
                return Ok(());
            }
            self.seen.push(path.clone());
            value = match ev.import(&path, m.pos) {
                Ok(v) => v,
                Err(e) => return Err(self.fail_with(e)),
            };
            file = Some(path);
        }
        if matches!(value, Value::Lambda(_) | Value::PrimOp(_)) {
            let args = self.args_for(ev, &value);
            value = match ev.apply(value, Thunk::value(Value::Attrs(args)), m.pos) {
                Ok(v) => v,
                Err(e) => return Err(self.fail_with(e)),
            };
        }
        let attrs = match value {
            Value::Attrs(a) => a,
            Value::Unknown(u) => {
                self.open.get_or_insert_with(|| u.reason.clone());
                return Ok(());
            }
            other => {
                return Err(self.fail(ModuleDiagnostic {
                    code: "N002",
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
        if plain_config {
            self.modules.push(Collected {
                file,
                options: None,
                config: Some((Thunk::value(Value::Attrs(attrs)), m.pos)),
                freeform: None,
            });
            return Ok(());
        }
        if let Some(key) = get("key")
            && let Ok(v) = ev.force(&key.value, None)
        {
            let key: Option<Rc<str>> = match v {
                Value::String(s) => Some(s.text().into()),
                Value::Path(p) => Some(p),
                _ => None,
            };
            if let Some(key) = key {
                if self.seen.contains(&key) {
                    return Ok(());
                }
                self.seen.push(key);
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
        let structured = ["config", "options", "freeformType"]
            .iter()
            .any(|k| attrs.get(k).is_some())
            && !m.config_only;
        let mut options = None;
        let mut freeform = None;
        let config = if structured {
            options = get("options").map(|a| a.value);
            freeform = get("freeformType").map(|a| a.value);
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
        self.modules.push(Collected {
            file: file.clone(),
            options,
            config,
            freeform,
        });
        if let Some(imports) = get("imports") {
            let list = match ev.force(&imports.value, imports.pos) {
                Ok(Value::List(items)) => items,
                Ok(Value::Unknown(u)) => {
                    self.open.get_or_insert_with(|| u.reason.clone());
                    return Ok(());
                }
                Ok(other) => {
                    // the module's configuration is collected; what it imports is unknown
                    let _ = self.fail(ModuleDiagnostic {
                        code: "N002",
                        message: format!(
                            "`imports` must be a list, but it is {}",
                            other.describe()
                        ),
                        pos: imports.pos,
                        labels: Vec::new(),
                        error: None,
                    });
                    return Ok(());
                }
                Err(e) => {
                    let _ = self.fail_with(e);
                    return Ok(());
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
                let record = self.imports.len();
                self.imports.push(ImportRecord {
                    parent: file.clone(),
                    pos,
                    target,
                });
                if let Some(value) = value
                    && let Err(failure) =
                        self.collect(ev, ModuleSource::new(value, file.clone(), pos), depth + 1)
                {
                    // a file that does not parse: imported, but nothing of it is known
                    self.imports[record].target = ImportedModule::Failed(failure.message);
                }
            }
        }
        Ok(())
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

    /// The arguments for a module function: the base ones, and an unknown for each other
    /// argument it names (`pkgs`, `modulesPath`, ...: NixOS provides them, clanc does not).
    fn args_for(&self, ev: &mut Evaluator<'_>, f: &Value) -> Rc<Attrs> {
        let Some((formals, _)) = Evaluator::formals(f) else {
            return self.base_args.clone();
        };
        let missing: Vec<Attr> = formals
            .iter()
            .filter(|n| self.base_args.get(n).is_none())
            .map(|n| Attr {
                name: n.clone(),
                value: Thunk::value(
                    ev.unknown(format!("the module argument `{n}` is not modelled"), None),
                ),
                pos: None,
            })
            .collect();
        if missing.is_empty() {
            return self.base_args.clone();
        }
        Rc::new(self.base_args.update(&Attrs::from_unsorted(missing)))
    }
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

/// Adds one module's declarations to an evaluation's.
fn merge_ns(into: &mut DeclNs, from: &DeclNs) {
    if into.open.is_none() {
        into.open.clone_from(&from.open);
    }
    for (name, entry) in &from.entries {
        let merged = match (into.entries.remove(name), entry) {
            (None, e) => e.clone(),
            (Some(DeclEntry::Option(old)), DeclEntry::Option(new)) => {
                DeclEntry::Option(Rc::new(merge_decls(&old, clone_decl(new))))
            }
            (Some(DeclEntry::Ns(old)), DeclEntry::Ns(new)) => {
                let mut old = Rc::unwrap_or_clone(old);
                merge_ns(&mut old, new);
                DeclEntry::Ns(Rc::new(old))
            }
            (Some(old), _) => old,
        };
        into.entries.insert(name.clone(), merged);
    }
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
            declare(
                ctx,
                ev,
                &mut child,
                &Thunk::value(v.clone()),
                file.clone(),
                &child_path,
            );
            ns.entries
                .insert(a.name.clone(), DeclEntry::Ns(Rc::new(child)));
        }
    }
}

fn read_decl(ev: &mut Evaluator<'_>, attrs: &Attrs, pos: Option<Pos>) -> EvalResult<Decl> {
    let mut type_description = String::from("unspecified value");
    let ty = match attrs.get("type") {
        Some(t) => {
            let t = ev.force(&t.clone(), pos)?;
            if let Value::Attrs(ta) = &t
                && let Some(d) = ta.get("description")
                && let Value::String(s) = ev.force(&d.clone(), pos)?
            {
                type_description = s.text().to_string();
            }
            TypeInfo::read(ev, &t)?
        }
        None => TypeInfo::Anything,
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
        ty,
        type_description,
        default: attrs.get("default").cloned(),
        apply: attrs.get("apply").cloned(),
        pos,
        alias_of,
    })
}

/// Two declarations of one option: submodule types combine their modules (as NixOS does);
/// otherwise the first declaration's type stands.
fn merge_decls(old: &Decl, new: Decl) -> Decl {
    let ty = match (&old.ty, &new.ty) {
        (
            TypeInfo::Submodule {
                modules: a,
                special_args,
                shorthand_only_config,
            },
            TypeInfo::Submodule { modules: b, .. },
        ) => TypeInfo::Submodule {
            modules: a.iter().chain(b.iter()).cloned().collect(),
            special_args: special_args.clone(),
            shorthand_only_config: *shorthand_only_config,
        },
        _ => old.ty.clone(),
    };
    Decl {
        ty,
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

impl Node {
    fn new(
        ctx: &Rc<ModuleContext>,
        settings: &Rc<EvalSettings>,
        path: String,
        kind: NodeKind,
        defs: Vec<Def>,
        name_arg: Option<Name>,
    ) -> Rc<Node> {
        Rc::new_cyclic(|this| Node {
            path,
            kind,
            defs,
            ctx: Rc::downgrade(ctx),
            settings: settings.clone(),
            this: this.clone(),
            resolved: OnceCell::new(),
            children: OnceCell::new(),
            sub: OnceCell::new(),
            value: OnceCell::new(),
            name_arg,
        })
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

    /// Whether anything defines this option (before priorities).
    pub fn is_defined(&self) -> bool {
        !self.defs.is_empty()
    }

    /// The definitions at this node with `mkIf`/`mkMerge`/`mkOverride` at their top
    /// discharged, the default added, and only the highest priority kept.
    pub fn resolved(&self, ev: &mut Evaluator<'_>) -> Rc<Resolved> {
        if let Some(r) = self.resolved.get() {
            return r.clone();
        }
        let mut all = Vec::new();
        let mut uncertain = None;
        for def in &self.defs {
            self.discharge(ev, def.clone(), &mut all, &mut uncertain);
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
            };
            self.discharge(ev, def, &mut all, &mut uncertain);
        }
        let best_sure = all
            .iter()
            .filter(|(d, _)| !d.maybe)
            .map(|(d, _)| d.priority)
            .min();
        let best = all.iter().map(|(d, _)| d.priority).min();
        if let (Some(best), Some(sure)) = (best, best_sure)
            && best < sure
        {
            uncertain.get_or_insert_with(|| {
                "a definition under `mkIf` with an unknown condition may override it".into()
            });
        }
        let keep = best_sure.or(best);
        let defs: Vec<(Def, Value)> = all
            .into_iter()
            .filter(|(d, _)| Some(d.priority) == keep)
            .collect();
        let r = Rc::new(Resolved { defs, uncertain });
        let _ = self.resolved.set(r.clone());
        r
    }

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
        let Value::Attrs(attrs) = &value else {
            out.push((def, value));
            return;
        };
        let Some(kind) = attrs.get("_type") else {
            out.push((def, value));
            return;
        };
        let kind = match ev.force(&kind.clone(), def.pos) {
            Ok(Value::String(s)) => s.text().to_string(),
            _ => String::new(),
        };
        let field = |name: &str| attrs.get(name).cloned();
        match (kind.as_str(), field("content")) {
            ("if", Some(content)) => {
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
                    Ok(other) => ctx.report(ModuleDiagnostic {
                        code: "N002",
                        message: format!(
                            "the condition of `mkIf` is {} while a Boolean was expected",
                            other.describe()
                        ),
                        pos: def.pos,
                        labels: Vec::new(),
                        error: None,
                    }),
                    Err(e) => {
                        uncertain.get_or_insert_with(|| {
                            format!("an `mkIf` condition failed: {}", e.message)
                        });
                        ctx.report_error(e);
                    }
                }
            }
            ("override", Some(content)) => {
                let priority = match field("priority").map(|p| ev.force(&p, def.pos)) {
                    Some(Ok(Value::Int(p))) => p,
                    _ => def.priority,
                };
                self.discharge(
                    ev,
                    Def {
                        value: content,
                        priority,
                        ..def
                    },
                    out,
                    uncertain,
                )
            }
            ("order", Some(content)) => self.discharge(
                ev,
                Def {
                    value: content,
                    ..def
                },
                out,
                uncertain,
            ),
            ("merge", _) => match field("contents").map(|c| ev.force(&c, def.pos)) {
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
                Some(Err(e)) => ctx.report_error(e),
                _ => {}
            },
            _ => out.push((def, value)),
        }
    }

    /// The keys below this node, each with its definitions; `None` for a leaf.
    pub fn children(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Children>> {
        if let Some(c) = self.children.get() {
            return Some(c.clone());
        }
        let ctx = self.ctx()?;
        let children = match (&self.kind, self.type_info()) {
            (NodeKind::Namespace { decls, freeform }, _) => {
                let (split, open) = self.split(ev, &ctx, true)?;
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
                        Node::new(&ctx, &self.settings, path, kind, defs, Some(name.clone())),
                    );
                }
                for (name, defs) in split {
                    if map.contains_key(&name) {
                        continue;
                    }
                    // `freeformType = attrsOf t`: each undeclared key has type `t`.
                    let kind = match freeform.as_deref() {
                        Some(TypeInfo::AttrsOf { elem, .. }) => {
                            NodeKind::Element(Rc::new((**elem).clone()))
                        }
                        Some(_) => NodeKind::Element(Rc::new(TypeInfo::Anything)),
                        None => NodeKind::Free,
                    };
                    let path = join(&self.path, &name);
                    map.insert(
                        name.clone(),
                        Node::new(&ctx, &self.settings, path, kind, defs, Some(name)),
                    );
                }
                self.apply_aliases(&ctx, &mut map);
                Children { map, open }
            }
            (_, Some(TypeInfo::Submodule { .. })) => {
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
            (_, Some(TypeInfo::NullOr(inner))) => {
                let inner = (**inner).clone();
                return self.reinterpret(ev, inner);
            }
            (_, Some(TypeInfo::AttrsOf { elem, .. })) => {
                let elem = Rc::new((**elem).clone());
                let (split, open) = self.split(ev, &ctx, false)?;
                let map = split
                    .into_iter()
                    .map(|(name, defs)| {
                        let path = join(&self.path, &name);
                        let node = Node::new(
                            &ctx,
                            &self.settings,
                            path,
                            NodeKind::Element(elem.clone()),
                            defs,
                            Some(name.clone()),
                        );
                        (name, node)
                    })
                    .collect();
                Children { map, open }
            }
            (NodeKind::Free, _) | (_, Some(TypeInfo::Anything)) => {
                let (split, open) = self.split(ev, &ctx, false)?;
                let map = split
                    .into_iter()
                    .map(|(name, defs)| {
                        let path = join(&self.path, &name);
                        let kind = match self.type_info() {
                            Some(t) => NodeKind::Element(Rc::new(t.clone())),
                            None => NodeKind::Free,
                        };
                        (
                            name.clone(),
                            Node::new(&ctx, &self.settings, path, kind, defs, Some(name)),
                        )
                    })
                    .collect();
                Children { map, open }
            }
            _ => return None,
        };
        let children = Rc::new(children);
        let _ = self.children.set(children.clone());
        Some(children)
    }

    /// `nullOr t` read as `t` (for children of a non-null value).
    fn reinterpret(&self, ev: &mut Evaluator<'_>, inner: TypeInfo) -> Option<Rc<Children>> {
        let ctx = self.ctx()?;
        let resolved = self.resolved(ev);
        if resolved.defs.iter().all(|(_, v)| matches!(v, Value::Null)) {
            return None;
        }
        let defs = resolved
            .defs
            .iter()
            .filter(|(_, v)| !matches!(v, Value::Null))
            .map(|(d, v)| Def {
                value: Thunk::value(v.clone()),
                ..d.clone()
            })
            .collect();
        let node = Node::new(
            &ctx,
            &self.settings,
            self.path.clone(),
            NodeKind::Element(Rc::new(inner)),
            defs,
            self.name_arg.clone(),
        );
        let children = node.children(ev)?;
        // Keep the node alive with its children: they refer to it only by path.
        let _ = self.children.set(children.clone());
        Some(children)
    }

    /// Definitions of the keys below: each definition that is an attribute set contributes
    /// its attributes. For a namespace the wrappers are discharged here; for a typed option
    /// they were discharged (and priorities applied) by `resolved`.
    fn split(
        &self,
        ev: &mut Evaluator<'_>,
        ctx: &ModuleContext,
        namespace: bool,
    ) -> Option<(KeyedDefs, Option<String>)> {
        // A definition that failed (reported) or might win may hold keys: the set is open.
        let (defs, mut open): (Vec<(Def, Value)>, Option<String>) = if namespace {
            let mut all = Vec::new();
            let mut uncertain = None;
            for def in &self.defs {
                self.discharge(ev, def.clone(), &mut all, &mut uncertain);
            }
            (all, uncertain)
        } else {
            let resolved = self.resolved(ev);
            (resolved.defs.clone(), resolved.uncertain.clone())
        };
        let mut out: BTreeMap<Name, Vec<Def>> = BTreeMap::new();
        for (def, value) in defs {
            match value {
                Value::Attrs(attrs) => {
                    for a in &attrs.entries {
                        let priority = if namespace {
                            def.priority
                        } else {
                            PRIORITY_PLAIN
                        };
                        out.entry(a.name.clone()).or_default().push(Def {
                            value: a.value.clone(),
                            file: def.file.clone(),
                            pos: a.pos.or(def.pos),
                            value_pos: ev.thunk_pos(&a.value),
                            priority,
                            maybe: def.maybe,
                        });
                    }
                }
                Value::Unknown(u) => {
                    ctx.note_unknown(&self.path, &u.reason, def.pos);
                    open.get_or_insert_with(|| u.reason.clone());
                }
                other => {
                    if !namespace && !matches!(self.kind, NodeKind::Free) {
                        return None;
                    }
                    if matches!(self.kind, NodeKind::Free) {
                        // An undeclared key holding a plain value: a leaf after all.
                        return None;
                    }
                    self.wrong_type(ctx, &def, &other, "attribute set");
                }
            }
        }
        Some((out, open))
    }

    fn wrong_type(&self, ctx: &ModuleContext, def: &Def, value: &Value, expected: &str) {
        let Some(code) = self.settings.type_code else {
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

    /// Definitions of renamed options (`mkRenamedOptionModule`) count for their new name.
    fn apply_aliases(&self, ctx: &Rc<ModuleContext>, map: &mut BTreeMap<Name, Rc<Node>>) {
        let aliases: Vec<(Name, Vec<Name>)> = map
            .iter()
            .filter_map(|(name, node)| match &node.kind {
                NodeKind::Option(d) => d.alias_of.clone().map(|to| (name.clone(), to)),
                _ => None,
            })
            .collect();
        for (from, to) in aliases {
            // Only renames within the same namespace are followed; others stay where written.
            // `to` is a path from the evaluation's root; this node's path starts with the
            // evaluation's prefix.
            let Some((target, parent)) = to.split_last() else {
                continue;
            };
            let here = self
                .path
                .strip_prefix(self.settings.prefix.as_str())
                .unwrap_or(&self.path)
                .trim_start_matches('.');
            if parent.join(".") != here {
                continue;
            }
            let target = target.clone();
            let (Some(src), Some(dst)) = (map.get(&from), map.get(&target)) else {
                continue;
            };
            let mut defs = dst.defs.clone();
            defs.extend(src.defs.iter().cloned());
            let node = Node::new(
                ctx,
                &self.settings,
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
        let Some(TypeInfo::Submodule {
            modules,
            special_args,
            shorthand_only_config,
        }) = self.type_info()
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
        let below = self.settings.checked_below.clone();
        let checked = below.as_ref().and_then(|(prefix, code)| {
            let inside = self.path == *prefix || self.path.starts_with(&format!("{prefix}."));
            inside.then_some(*code)
        });
        let settings = EvalSettings {
            prefix: self.path.clone(),
            type_code: self.settings.type_code.or(checked),
            checked_below: below,
            open_world: self.settings.open_world.clone(),
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
            .map(|(def, value)| {
                ModuleSource::new(Thunk::value(value.clone()), def.file.clone(), def.pos)
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
        let resolved = self.resolved(ev);
        if let Some(reason) = &resolved.uncertain {
            return Ok(ev.unknown(
                format!("`{}`: {reason}", self.path),
                self.first_pos().or(pos),
            ));
        }
        if resolved.defs.is_empty() {
            if matches!(self.kind, NodeKind::Option(_)) {
                return Err(EvalError::eval(
                    format!("the option `{}` is used but not defined", self.path),
                    pos,
                ));
            }
            return Ok(ev.unknown(format!("`{}` has no definition", self.path), pos));
        }
        if let Some((_, Value::Unknown(u))) = resolved
            .defs
            .iter()
            .find(|(_, v)| matches!(v, Value::Unknown(_)))
            && (resolved.defs.len() == 1 || !self.merges_per_key())
        {
            return Ok(Value::Unknown(u.clone()));
        }
        let ty = self.type_info().cloned().unwrap_or(TypeInfo::Anything);
        match ty.clone() {
            TypeInfo::Submodule { .. } => match self.sub_evaluation(ev) {
                Some(sub) => ev.force(&sub.config, pos),
                None => Ok(ev.unknown("submodule", pos)),
            },
            TypeInfo::AttrsOf { .. } => self.attrs_of_children(ev),
            TypeInfo::NullOr(inner) => {
                if resolved.defs.iter().all(|(_, v)| matches!(v, Value::Null)) {
                    return Ok(Value::Null);
                }
                let defs: Vec<Def> = resolved
                    .defs
                    .iter()
                    .filter(|(_, v)| !matches!(v, Value::Null))
                    .map(|(d, v)| Def {
                        value: Thunk::value(v.clone()),
                        ..d.clone()
                    })
                    .collect();
                let ctx = self.ctx();
                let Some(ctx) = ctx else {
                    return Ok(Value::Null);
                };
                let node = Node::new(
                    &ctx,
                    &self.settings,
                    self.path.clone(),
                    NodeKind::Element(Rc::new(*inner)),
                    defs,
                    self.name_arg.clone(),
                );
                let t = node.value_thunk();
                let v = ev.force(&t, pos);
                // The inner node's children must outlive this call when they are used.
                let _ = self.sub.set(node.sub.get().cloned().flatten());
                v
            }
            TypeInfo::ListOf(_) => {
                let mut items = Vec::new();
                for (def, v) in resolved.defs.iter() {
                    match v {
                        Value::List(l) => items.extend(l.iter().cloned()),
                        other => self.wrong_type_value(def, other, &ty),
                    }
                }
                Ok(Value::list(items))
            }
            TypeInfo::Separated(sep) => {
                let mut parts = Vec::new();
                for (def, v) in resolved.defs.iter() {
                    match v {
                        Value::String(s) => parts.push(s.text().to_string()),
                        other => self.wrong_type_value(def, other, &ty),
                    }
                }
                Ok(Value::string(parts.join(&sep)))
            }
            TypeInfo::DeferredModule => {
                let items: Vec<Thunk> = resolved
                    .defs
                    .iter()
                    .map(|(d, v)| {
                        let mut entries = vec![attr(
                            "imports",
                            Thunk::value(Value::list(vec![Thunk::value(v.clone())])),
                        )];
                        if let Some(f) = &d.file {
                            entries.push(attr("_file", Thunk::value(Value::string(f.to_string()))));
                        }
                        Thunk::value(Value::attrs(Attrs::from_unsorted(entries)))
                    })
                    .collect();
                Ok(Value::attrs(Attrs::from_unsorted(vec![attr(
                    "imports",
                    Thunk::value(Value::list(items)),
                )])))
            }
            TypeInfo::One { .. } => {
                if resolved.defs.len() > 1 {
                    self.conflict(
                        &resolved.defs,
                        "is defined multiple times while it is expected to be unique",
                    );
                    // As in NixOS the option has no value then: nothing downstream is checked
                    // against a guess.
                    return Ok(ev.unknown(
                        format!("`{}` has conflicting definitions", self.path),
                        resolved.defs.last().and_then(|(d, _)| d.pos),
                    ));
                }
                Ok(resolved.defs[0].1.clone())
            }
            TypeInfo::Anything | TypeInfo::Either(..) => {
                // An undeclared set in an open world: modules clanc does not see may declare
                // and define more of it, so it is read key by key (and stays open).
                let open_set = matches!(self.kind, NodeKind::Free)
                    && self.settings.open_world.is_some()
                    && matches!(&resolved.defs[0].1, Value::Attrs(_));
                if resolved.defs.len() == 1 && !open_set {
                    return Ok(resolved.defs[0].1.clone());
                }
                if resolved
                    .defs
                    .iter()
                    .all(|(_, v)| matches!(v, Value::Attrs(_)))
                {
                    return self.attrs_of_children(ev);
                }
                if resolved
                    .defs
                    .iter()
                    .all(|(_, v)| matches!(v, Value::List(_)))
                {
                    let items: Vec<Thunk> = resolved
                        .defs
                        .iter()
                        .flat_map(|(_, v)| match v {
                            Value::List(l) => l.to_vec(),
                            _ => Vec::new(),
                        })
                        .collect();
                    return Ok(Value::list(items));
                }
                self.merge_equal(ev, &resolved.defs, pos)
            }
            TypeInfo::Leaf { .. } => {
                let good: Vec<(Def, Value)> = resolved
                    .defs
                    .iter()
                    .filter(|(def, v)| {
                        let ok = ty.shallow_accepts(v).unwrap_or(true);
                        if !ok {
                            self.wrong_type_value(def, v, &ty);
                        }
                        ok
                    })
                    .cloned()
                    .collect();
                if good.is_empty() {
                    return Ok(ev.unknown(format!("`{}` has no valid definition", self.path), pos));
                }
                self.merge_equal(ev, &good, pos)
            }
        }
    }

    /// Whether definitions of this node merge key by key (so one unknown definition does not
    /// make the whole value unknown).
    fn merges_per_key(&self) -> bool {
        matches!(
            self.type_info(),
            Some(TypeInfo::Submodule { .. } | TypeInfo::AttrsOf { .. } | TypeInfo::ListOf(_))
                | None
        )
    }

    fn attrs_of_children(&self, ev: &mut Evaluator<'_>) -> EvalResult<Value> {
        let Some(children) = self.children(ev) else {
            return Ok(ev.unknown(format!("`{}` is not an attribute set", self.path), None));
        };
        let mut entries = Vec::with_capacity(children.map.len() + 1);
        for (name, node) in &children.map {
            // Keys stay even when all their definitions vanish under `mkIf false` (as with
            // `lazyAttrsOf`): deciding would force the definitions, and modules like clan's
            // computed tags refer to the set they are part of.
            if matches!(node.kind, NodeKind::Free) && node.defs.is_empty() {
                continue;
            }
            entries.push(Attr {
                name: name.clone(),
                value: node.value_thunk(),
                pos: node.first_pos(),
            });
        }
        if let Some(reason) = children.open.as_ref().or(self.settings.open_world.as_ref()) {
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

    fn wrong_type_value(&self, def: &Def, value: &Value, ty: &TypeInfo) {
        if let Some(ctx) = self.ctx() {
            self.wrong_type(&ctx, def, value, &format!("of type `{}`", ty.describe()));
        }
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

    fn conflict(&self, defs: &[(Def, Value)], what: &str) {
        let Some(ctx) = self.ctx() else { return };
        if defs.iter().any(|(d, _)| d.maybe) {
            return;
        }
        let Some(last) = defs.last() else { return };
        let labels = defs[..defs.len() - 1]
            .iter()
            .filter_map(|(d, v)| {
                d.pos
                    .map(|p| (p, format!("also defined here ({})", describe_value(v))))
            })
            .collect();
        ctx.report(ModuleDiagnostic {
            code: "C012",
            message: format!("the option `{}` {what}", self.path),
            pos: last.0.pos,
            labels,
            error: None,
        });
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
        let mut node = self.root.clone();
        for key in path {
            let children = node.children(ev)?;
            node = children.map.get(*key)?.clone();
        }
        Some(node)
    }
}
