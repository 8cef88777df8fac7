//! One evaluation of a list of modules (the root of a configuration, or a submodule's):
//! the modules collected, their declarations merged, the root node made, and `config` as
//! `lib.evalModules` returns it.

use std::cell::{Cell, OnceCell};
use std::rc::{Rc, Weak};

use crate::diagnostics::Code;
use crate::eval::{Attr, Attrs, Evaluator, Thunk, Value};
use crate::modules::types::{TypeInfo, TypeKind};

use super::collect::{Collected, Modules, collect};
use super::declarations::{DeclNs, declared, merge_ns};
use super::node::{Node, NodeKind};
use super::{
    Def, EvalSettings, ImportRecord, ModuleContext, ModuleDiagnostic, ModuleFailure, ModuleSource,
    Name, Owner, PRIORITY_PLAIN, ReadModule, attr,
};

/// What the nodes of one evaluation share.
pub(super) struct Scope {
    pub(super) settings: EvalSettings,
    /// The evaluation's root (set once the modules are collected).
    pub(super) root: OnceCell<Weak<Node>>,
    /// The modules' definitions as a tree without declarations, for `_module.args` (which
    /// option declarations may use, so it cannot wait for the root).
    pub(super) args: OnceCell<Weak<Node>>,
    /// Every module was seen and read: an option nothing defines has no definition.
    pub(super) complete: Cell<bool>,
    /// Strict, and every module was seen: undeclared options and wrong types are errors.
    pub(super) checked: Cell<bool>,
    /// Not checked, and clanc's own models declare some of the options: the real NixOS,
    /// clan-core or flake-parts declare more, so a key no module here defines may exist.
    pub(super) partial: Cell<bool>,
    /// The top-level evaluation this one belongs to (itself, or the one whose submodule it
    /// is): what [`ModuleContext::release`] lets go of together.
    pub(super) owner: Owner,
}

impl Scope {
    pub(super) fn root(&self) -> Option<Rc<Node>> {
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
    /// Every module read, in the order read (`plan --changed-since` finds their code).
    pub read: Vec<ReadModule>,
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

/// Evaluates a list of modules. `args` are the special arguments every module function
/// gets (besides `config`, `options` and `lib`).
pub fn evaluate(
    ctx: &Rc<ModuleContext>,
    ev: &mut Evaluator<'_>,
    modules: Vec<ModuleSource>,
    args: Vec<(Name, Thunk)>,
    settings: EvalSettings,
) -> Rc<Evaluation> {
    let owner = ctx.new_owner();
    evaluate_in(ctx, ev, modules, args, settings, owner)
}

/// [`evaluate`], as part of the top-level evaluation `owner`.
fn evaluate_in(
    ctx: &Rc<ModuleContext>,
    ev: &mut Evaluator<'_>,
    modules: Vec<ModuleSource>,
    args: Vec<(Name, Thunk)>,
    settings: EvalSettings,
    owner: Owner,
) -> Rc<Evaluation> {
    let scope = Rc::new(Scope {
        settings: settings.clone(),
        root: OnceCell::new(),
        args: OnceCell::new(),
        complete: Cell::new(false),
        checked: Cell::new(false),
        partial: Cell::new(false),
        owner,
    });
    let base_args = module_arguments(ctx, ev, &scope, args);
    let Modules {
        collected,
        imports,
        read,
        open,
        failed,
    } = collect(ctx, ev, scope.clone(), base_args, modules);

    let (freeform, defs) = top_definitions(ctx, ev, &collected);
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
    let decls = declarations(ctx, ev, &collected, &settings, owner);
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
    let evaluation = Rc::new(Evaluation {
        settings: Rc::new(settings),
        config: returned_config(&scope),
        root,
        _args: args_node,
        imports,
        read,
        files: collected.iter().filter_map(|m| m.file.clone()).collect(),
        open,
        failed,
    });
    ctx.evaluations.borrow_mut().push(evaluation.clone());
    evaluation
}

/// The arguments every module function gets: `config` as modules see it (with `_module`),
/// `lib`, `options`, and the special arguments (which win over the built-in ones, as in
/// nixpkgs).
fn module_arguments(
    ctx: &Rc<ModuleContext>,
    ev: &mut Evaluator<'_>,
    scope: &Rc<Scope>,
    args: Vec<(Name, Thunk)>,
) -> Rc<Attrs> {
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
    Rc::new(Attrs::from_unsorted(arg_attrs))
}

/// The first freeform type, and the modules' configurations as definitions of the root, in
/// nixpkgs' order (the collected modules in reverse).
fn top_definitions(
    ctx: &ModuleContext,
    ev: &mut Evaluator<'_>,
    collected: &[Collected],
) -> (Option<Rc<TypeInfo>>, Vec<Def>) {
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
    (freeform, defs)
}

/// The options the collected modules declare, merged.
fn declarations(
    ctx: &ModuleContext,
    ev: &mut Evaluator<'_>,
    collected: &[Collected],
    settings: &EvalSettings,
    owner: Owner,
) -> DeclNs {
    let mut decls = DeclNs::default();
    let mut clashes = Vec::new();
    for m in collected {
        if let Some(options) = &m.options {
            let declared = declared(ctx, ev, options, m.file.clone(), &settings.prefix, owner);
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
                    decl.ty.describe(ev)
                ),
                pos: decl.pos,
                labels: Vec::new(),
                error: None,
            });
        }
    }
    decls
}

/// `config` as `evalModules` returns it: without `_module`, and in a strict evaluation
/// checked for definitions of options that do not exist.
fn returned_config(scope: &Rc<Scope>) -> Thunk {
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
}

impl Evaluation {
    /// The top-level evaluation this one belongs to (see [`ModuleContext::release`]).
    pub fn owner(&self) -> u64 {
        self.root.scope.owner.id
    }

    /// The node at a path below this evaluation's root, descending into submodules.
    pub fn node(&self, ev: &mut Evaluator<'_>, path: &[&str]) -> Option<Rc<Node>> {
        self.root.descend(ev, path)
    }
}

impl Node {
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
        let sub = evaluate_in(&ctx, ev, sources, args, settings, self.scope.owner);
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
}
