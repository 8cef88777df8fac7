//! Collecting the modules of an evaluation: `imports` breadth first (as nixpkgs'
//! `genericClosure`), each key once, less `disabledModules`; paths imported, functions
//! called with the module arguments, and each module's attributes sorted into options,
//! configuration and meta.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::{Rc, Weak};

use crate::diagnostics::Code;
use crate::eval::{Attr, Attrs, EvalError, EvalResult, Evaluator, Pos, Thunk, Value};

use super::evaluation::Scope;
use super::{
    ImportRecord, ImportedModule, ModuleContext, ModuleDiagnostic, ModuleFailure, ModuleSource,
    ReadModule,
};

pub(super) struct Collected {
    pub(super) file: Option<Rc<str>>,
    pub(super) options: Option<Thunk>,
    pub(super) config: Option<(Thunk, Option<Pos>)>,
    pub(super) freeform: Option<Thunk>,
    /// Its key (a path, a `key` attribute, or made up for an anonymous module).
    key: Rc<str>,
    /// The keys of the modules it imports, in order.
    imports: Vec<Rc<str>>,
    /// The keys its `disabledModules` names.
    disabled: Vec<Rc<str>>,
    /// A top-level module of the evaluation.
    top: bool,
    /// See `Def::seq`.
    pub(super) seq: u64,
}

struct Collector<'c> {
    ctx: &'c Rc<ModuleContext>,
    scope: Rc<Scope>,
    base_args: Rc<Attrs>,
    /// Every module, breadth first, each key once.
    modules: Vec<Collected>,
    by_key: HashMap<Rc<str>, usize>,
    imports: Vec<ImportRecord>,
    read: Vec<ReadModule>,
    open: Option<String>,
    failed: Option<ModuleFailure>,
    anonymous: usize,
}

/// What collecting the modules of an evaluation gave.
pub(super) struct Modules {
    /// The modules, less those `disabledModules` names, in the order nixpkgs merges them
    /// from (reversed).
    pub(super) collected: Vec<Collected>,
    pub(super) imports: Vec<ImportRecord>,
    pub(super) read: Vec<ReadModule>,
    pub(super) open: Option<String>,
    pub(super) failed: Option<ModuleFailure>,
}

/// Collects the modules of an evaluation and what they import (see `Collector`).
pub(super) fn collect(
    ctx: &Rc<ModuleContext>,
    ev: &mut Evaluator<'_>,
    scope: Rc<Scope>,
    base_args: Rc<Attrs>,
    modules: Vec<ModuleSource>,
) -> Modules {
    let mut collector = Collector {
        ctx,
        scope,
        base_args,
        modules: Vec::new(),
        by_key: HashMap::new(),
        imports: Vec::new(),
        read: Vec::new(),
        open: None,
        failed: None,
        anonymous: 0,
    };
    collector.collect_all(ev, modules);
    let collected = collector.enabled();
    let Collector {
        imports,
        read,
        open,
        failed,
        ..
    } = collector;
    Modules {
        collected,
        imports,
        read,
        open,
        failed,
    }
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

/// A module forced to its attributes (see `Collector::load`).
struct Loaded {
    attrs: Rc<Attrs>,
    /// The file it was written in: the imported path, else its source's.
    file: Option<Rc<str>>,
    /// The imported path, its key unless it names another.
    key: Option<Rc<str>>,
    /// A plain set of configuration (`ModuleSource::config_only`).
    plain_config: bool,
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
            let list_pos = ev.thunk_pos(&imports.value);
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
                let element = ev.thunk_pos(item);
                let pos = element.or(imports.pos);
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
                    list: list_pos,
                    element,
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
        let seq = m.seq.unwrap_or_else(|| self.ctx.seq());
        let Some(Loaded {
            attrs,
            mut file,
            mut key,
            plain_config,
        }) = self.load(ev, &m)?
        else {
            return Ok(Read::Nothing);
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

    /// A module forced to its attributes: a path imported, a function called with its
    /// arguments. `None` for an unknown value (the evaluation is open).
    fn load(
        &mut self,
        ev: &mut Evaluator<'_>,
        m: &ModuleSource,
    ) -> Result<Option<Loaded>, ModuleFailure> {
        let mut file = m.file.clone();
        let mut key: Option<Rc<str>> = None;
        let mut value = match ev.force(&m.value, m.pos) {
            Ok(v) => v,
            Err(e) => return Err(self.fail_with(e)),
        };
        // `submodule`'s shorthand rule: a definition written as a plain set is configuration,
        // all of it (`key`, `imports`, `_file` included: sops-nix's `key` option is one);
        // paths and functions are modules as usual.
        let plain_config = m.config_only && matches!(value, Value::Attrs(_));
        let mut imported = None;
        if let Value::Path(path) = &value {
            let path = path.clone();
            value = match ev.import(&path, m.pos) {
                Ok(v) => v,
                Err(e) => return Err(self.fail_with(e)),
            };
            key = Some(path.clone());
            imported = Some(path.clone());
            file = Some(path);
        }
        self.read.push(ReadModule {
            value: value.clone(),
            path: imported,
            pos: m.pos,
        });
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
                return Ok(None);
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
        Ok(Some(Loaded {
            attrs,
            file,
            key,
            plain_config,
        }))
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
