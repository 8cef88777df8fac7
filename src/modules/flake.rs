//! The flake entry: read `flake.nix`, bind its inputs (known inputs get native models,
//! every other input is unknown), call `outputs`, and find the clan(s) it evaluates, through
//! flake-parts' `mkFlake` with clan-core's flake module or through `clan-core.lib.clan`.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use crate::eval::{Attr, Attrs, EvalError, EvalResult, Evaluator, OPEN_MARKER, Pos, Thunk, Value};

use super::flake_lock::FlakeLock;
use super::known;
use super::system::{
    EvalSettings, Evaluation, ModuleContext, ModuleFailure, ModuleSource, Name, evaluate,
};
use crate::diagnostics::Code;

/// What evaluating a flake found.
pub struct FlakeEvaluation {
    pub ctx: Rc<ModuleContext>,
    /// Every clan the flake evaluates (normally one).
    pub clans: Vec<Rc<Evaluation>>,
    /// The flake's input names, from `flake.nix` and `flake.lock`.
    pub inputs: Vec<String>,
    /// The model of each input, by name.
    pub input_kinds: Vec<(String, InputKind)>,
    /// The `inputs` set `outputs` is called with (with `self`).
    pub inputs_value: Thunk,
    pub self_value: Thunk,
    /// `flake.nix` or its outputs could not be evaluated, or a module of the flake-parts or
    /// clan evaluation failed (a file that does not parse, ...): the clan is incomplete.
    pub failed: Option<ModuleFailure>,
}

/// The inputs clanc has a model of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Nixpkgs,
    FlakeParts,
    ImportTree,
    ClanCore,
    Other,
}

impl InputKind {
    /// Recognises an input by its URL (or locked owner/repo) and name.
    pub fn recognise(name: &str, url: &str) -> InputKind {
        let url = url.to_ascii_lowercase();
        let has = |s: &str| url.contains(s) || name == s;
        if has("clan-core") {
            InputKind::ClanCore
        } else if has("flake-parts") {
            InputKind::FlakeParts
        } else if has("import-tree") {
            InputKind::ImportTree
        } else if has("nixpkgs") || name == "nixpkgs-lib" {
            InputKind::Nixpkgs
        } else {
            InputKind::Other
        }
    }
}

/// Clan evaluations found while the flake is evaluated (host functions add to it).
#[derive(Default)]
struct Sink {
    clans: RefCell<Vec<Rc<Evaluation>>>,
    flake_parts: RefCell<Vec<Rc<Evaluation>>>,
}

/// Why an input clanc has no model of is unknown (what selecting from it gives too).
pub fn unmodelled_input(name: &str) -> String {
    format!("input `{name}` is not modelled")
}

fn attr(name: &str, value: Value) -> Attr {
    Attr {
        name: name.into(),
        value: Thunk::value(value),
        pos: None,
    }
}

fn thunk_attr(name: &str, value: Thunk) -> Attr {
    Attr {
        name: name.into(),
        value,
        pos: None,
    }
}

/// An attribute set that answers unknown for every attribute it lacks.
fn open_set(mut entries: Vec<Attr>, what: &str) -> Value {
    entries.push(attr(OPEN_MARKER, Value::string(what)));
    Value::attrs(Attrs::from_unsorted(entries))
}

/// Evaluates `root/flake.nix`. Errors in code the model needs are reported to the context.
pub fn evaluate_flake(
    ev: &mut Evaluator<'_>,
    root: &str,
    lock: Option<&FlakeLock>,
) -> FlakeEvaluation {
    let sink = Rc::new(Sink::default());
    // The context holds `lib`, whose `evalModules` refers back to the context.
    let (ctx, lib) = module_lib(ev);

    let mut result = FlakeEvaluation {
        ctx: ctx.clone(),
        clans: Vec::new(),
        inputs: Vec::new(),
        input_kinds: Vec::new(),
        inputs_value: Thunk::value(ev.unknown("flake inputs", None)),
        self_value: Thunk::value(ev.unknown("flake outputs", None)),
        failed: None,
    };
    let flake = match import_flake(ev, &ctx, root) {
        Ok(flake) => flake,
        Err(failed) => {
            result.failed = failed;
            return result;
        }
    };

    // Input names and what they are.
    let inputs = flake_inputs(ev, &ctx, &flake, lock);
    result.input_kinds = inputs
        .iter()
        .map(|(n, u)| (n.clone(), InputKind::recognise(n, u)))
        .collect();
    result.inputs = inputs
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| n != "self")
        .collect();

    // `self`: the outputs, plus outPath; open, since outputs clanc does not model are many.
    let root_path: Rc<str> = Rc::from(root);
    let self_thunk = ev.self_referential_thunk();
    let inputs_thunk = ev.self_referential_thunk();
    let outputs_thunk = ev.self_referential_thunk();
    let models = InputModels {
        ctx: &ctx,
        sink: &sink,
        lib: &lib,
        root: &root_path,
        self_thunk: &self_thunk,
        inputs_thunk: &inputs_thunk,
    };
    let mut input_attrs = input_values(ev, &models, &result.input_kinds);
    input_attrs.push(thunk_attr("self", self_thunk.clone()));
    inputs_thunk.fill(Value::attrs(Attrs::from_unsorted(input_attrs)));
    self_thunk.redirect(self_value(&outputs_thunk, &inputs_thunk, &root_path));
    outputs_thunk.redirect(outputs_call(flake.get("outputs").cloned(), &inputs_thunk));

    // Evaluate the outputs far enough to meet the clan.
    let outputs_failed = meet_clans(ev, &ctx, &sink, &outputs_thunk);
    result.clans = sink.clans.borrow().clone();
    result.failed = sink
        .flake_parts
        .borrow()
        .iter()
        .chain(result.clans.iter())
        .find_map(|e| e.failed.clone())
        // an error of the outputs elsewhere leaves a clan they reached whole
        .or(outputs_failed.filter(|_| result.clans.is_empty()));
    result.inputs_value = inputs_thunk;
    result.self_value = self_thunk;
    result
}

/// `flake.nix`, which must be a set; `Err` with the failure, if one, when it is not.
fn import_flake(
    ev: &mut Evaluator<'_>,
    ctx: &ModuleContext,
    root: &str,
) -> Result<Rc<Attrs>, Option<ModuleFailure>> {
    let flake_path = format!("{root}/flake.nix");
    match ev.import(&flake_path, None) {
        Ok(Value::Attrs(a)) => Ok(a),
        Ok(Value::Unknown(u)) => {
            ctx.note_unknown("flake.nix", &u.reason, u.origin);
            Err(None)
        }
        Ok(other) => {
            ctx.report_error(EvalError::eval(
                format!("flake.nix must be a set, but it is {}", other.describe()),
                None,
            ));
            Err(None)
        }
        Err(e) => {
            let failed = Some(ModuleFailure::of(&e));
            ctx.report_error(e);
            Err(failed)
        }
    }
}

/// The flake's inputs with their URLs: from `flake.nix`, then `flake.lock`, then the
/// arguments of `outputs` no input declares.
fn flake_inputs(
    ev: &mut Evaluator<'_>,
    ctx: &ModuleContext,
    flake: &Attrs,
    lock: Option<&FlakeLock>,
) -> Vec<(String, String)> {
    let mut inputs: Vec<(String, String)> = Vec::new();
    if let Some(spec) = flake.get("inputs") {
        match ev.force(&spec.clone(), None) {
            Ok(Value::Attrs(specs)) => {
                for a in &specs.entries {
                    let url = input_url(ev, &a.value).unwrap_or_default();
                    inputs.push((a.name.to_string(), url));
                }
            }
            Ok(_) => {}
            Err(e) => ctx.report_error(e),
        }
    }
    if let Some(lock) = lock {
        for name in lock.root_inputs() {
            let url = lock
                .resolve(&[name])
                .and_then(|n| n.locked.as_ref())
                .map(|l| {
                    format!(
                        "{}/{}/{}",
                        l.owner.clone().unwrap_or_default(),
                        l.repo.clone().unwrap_or_default(),
                        l.url.clone().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            match inputs.iter_mut().find(|(n, _)| n == name) {
                Some((_, u)) if u.is_empty() => *u = url,
                Some(_) => {}
                None => inputs.push((name.to_string(), url)),
            }
        }
    }
    // Nix adds every argument `outputs` names that `inputs` does not declare as an input from
    // the registry (`outputs = { self, nixpkgs }: ...` without `inputs.nixpkgs`), and passes
    // nothing else: an input added here that the function does not take would be an error.
    if let Some(outputs) = flake.get("outputs")
        && let Ok(function) = ev.force(&outputs.clone(), None)
        && let Some(formals) = function.formal_names()
    {
        for name in formals {
            if &*name != "self" && !inputs.iter().any(|(n, _)| **n == *name) {
                inputs.push((name.to_string(), String::new()));
            }
        }
    }
    inputs
}

/// What the models of the inputs are made with.
struct InputModels<'a> {
    ctx: &'a Rc<ModuleContext>,
    sink: &'a Rc<Sink>,
    lib: &'a Thunk,
    /// The clan's directory.
    root: &'a Rc<str>,
    self_thunk: &'a Thunk,
    inputs_thunk: &'a Thunk,
}

/// The inputs as `outputs` gets them: the models of those clanc knows, unknown others.
fn input_values(
    ev: &mut Evaluator<'_>,
    models: &InputModels<'_>,
    kinds: &[(String, InputKind)],
) -> Vec<Attr> {
    let InputModels {
        ctx,
        sink,
        lib,
        root,
        self_thunk,
        inputs_thunk,
    } = *models;
    let mut input_attrs: Vec<Attr> = Vec::new();
    for (name, kind) in kinds {
        let value = match kind {
            InputKind::Nixpkgs => Thunk::value(open_set(
                vec![
                    thunk_attr("lib", lib.clone()),
                    attr(
                        "outPath",
                        ev.unknown(format!("the source of input `{name}`"), None),
                    ),
                ],
                &format!("input `{name}` (nixpkgs)"),
            )),
            InputKind::FlakeParts => Thunk::value(flake_parts_value(
                ev,
                ctx,
                sink,
                lib,
                name,
                self_thunk,
                inputs_thunk,
            )),
            InputKind::ImportTree => match ev.import(&known::path("import-tree.nix"), None) {
                Ok(v) => Thunk::value(v),
                Err(e) => {
                    ctx.report_error(e);
                    Thunk::value(ev.unknown("import-tree", None))
                }
            },
            InputKind::ClanCore => Thunk::value(clan_core_value(ev, ctx, sink, lib, name, root)),
            InputKind::Other => Thunk::value(ev.unknown(unmodelled_input(name), None)),
        };
        input_attrs.push(thunk_attr(name, value));
    }
    input_attrs
}

/// `self`: the outputs, with `outPath` (the clan's directory), `inputs`, and a
/// `__toString` unless the outputs have one; open.
fn self_value(outputs_thunk: &Thunk, inputs_thunk: &Thunk, root_path: &Rc<str>) -> Thunk {
    let outputs_thunk = outputs_thunk.clone();
    let inputs_thunk = inputs_thunk.clone();
    let root_path = root_path.clone();
    Thunk::native("self", move |ev, pos| {
        let outputs = match ev.force(&outputs_thunk, pos)? {
            Value::Attrs(a) => a,
            other => return Ok(other),
        };
        let mut extra = vec![
            // A string, as in Nix (where it names the flake's source in the store): the
            // clan's own directory holds the same files, so `"${self}/x"` and
            // `self + "/x"` read them.
            attr("outPath", Value::string(root_path.to_string())),
            thunk_attr("inputs", inputs_thunk.clone()),
            attr("_type", Value::string("flake")),
            attr(OPEN_MARKER, Value::string("this flake's outputs")),
        ];
        // `self` is open, and an open set might have a `__toString` clanc does not see;
        // this one has none unless the outputs clanc evaluated define it, so it coerces
        // to its `outPath` as in Nix.
        if outputs.get("__toString").is_none() {
            let path = root_path.to_string();
            extra.push(attr(
                "__toString",
                Value::host("self.__toString", 1, move |_, _, _| {
                    Ok(Value::string(path.clone()))
                }),
            ));
        }
        let extra = Attrs::from_unsorted(extra);
        Ok(Value::attrs(outputs.update(&extra)))
    })
}

/// The outputs: `outputs` called with the inputs.
fn outputs_call(outputs_fn: Option<Thunk>, inputs_thunk: &Thunk) -> Thunk {
    let inputs_thunk = inputs_thunk.clone();
    Thunk::native("outputs", move |ev, pos| match &outputs_fn {
        Some(f) => {
            let f = ev.force(f, pos)?;
            ev.apply(f, inputs_thunk.clone(), pos)
        }
        None => Err(EvalError::eval("flake.nix has no `outputs`", pos)),
    })
}

/// Forces the outputs far enough to meet the clan (`clanInternals`, `clan`, the machines'
/// configurations), and adds the clan of each flake-parts evaluation (clan-core's
/// `flake.clan` option) to the sink. The failure of the outputs, if they failed.
fn meet_clans(
    ev: &mut Evaluator<'_>,
    ctx: &ModuleContext,
    sink: &Sink,
    outputs_thunk: &Thunk,
) -> Option<ModuleFailure> {
    let mut outputs_failed = None;
    match ev.force(outputs_thunk, None) {
        Ok(Value::Attrs(outputs)) => {
            if sink.clans.borrow().is_empty() {
                for name in [
                    "clanInternals",
                    "clan",
                    "nixosConfigurations",
                    "darwinConfigurations",
                ] {
                    if let Some(t) = outputs.get(name) {
                        if let Err(e) = ev.force(&t.clone(), None) {
                            ctx.report_error(e);
                        }
                        if !sink.clans.borrow().is_empty() {
                            break;
                        }
                    }
                }
            }
        }
        Ok(Value::Unknown(u)) => ctx.note_unknown("outputs", &u.reason, u.origin),
        Ok(_) => {}
        Err(e) => {
            outputs_failed = Some(ModuleFailure::of(&e));
            ctx.report_error(e);
        }
    }
    // flake-parts: clan-core's `flake.clan` option (`clan` is renamed to it).
    for fp in sink.flake_parts.borrow().iter() {
        if let Some(node) = fp.node(ev, &["flake", "clan"])
            && node.is_defined()
            && let Some(sub) = node.sub_evaluation(ev)
        {
            sink.clans.borrow_mut().push(sub);
        }
    }
    outputs_failed
}

/// The URL of an input spec (`inputs.x.url = "..."`, or `inputs.x = "..."`? no: a set).
fn input_url(ev: &mut Evaluator<'_>, spec: &Thunk) -> Option<String> {
    match ev.force(spec, None).ok()? {
        Value::Attrs(a) => match ev.force(&a.get("url")?.clone(), None).ok()? {
            Value::String(s) => Some(s.text().to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The sets of nixpkgs' `lib` that clanc's model has (partly): each is open like `lib`.
const LIB_SECTIONS: &[&str] = &[
    "types",
    "attrsets",
    "lists",
    "strings",
    "trivial",
    "options",
    "modules",
    "generators",
    "versions",
    "filesystem",
    "fixedPoints",
    "asserts",
    "meta",
];

/// nixpkgs' `lib` as clanc models it, with `lib.evalModules` bound to clanc's module system,
/// and the context that collects what its evaluations find (conflicts, unknowns). The flake
/// entry does the same; this is for evaluating modules outside a flake (the module-system
/// differential suite, `tests/module_differential.rs`).
pub fn module_lib(ev: &mut Evaluator<'_>) -> (Rc<ModuleContext>, Thunk) {
    let ctx = ModuleContext::new(Thunk::blank());
    let lib = lib_value(ev, &ctx);
    ctx.lib.redirect(lib.clone());
    (ctx, lib)
}

/// `lib`, with `evalModules` bound to clanc's module system; open, so functions it lacks are
/// unknown rather than errors.
fn lib_value(ev: &mut Evaluator<'_>, ctx: &Rc<ModuleContext>) -> Thunk {
    let weak = Rc::downgrade(ctx);
    let eval_modules = Value::host("lib.evalModules", 1, move |ev, args, pos| {
        let Some(ctx) = weak.upgrade() else {
            return Ok(ev.unknown("evalModules after the evaluation ended", pos));
        };
        eval_modules(ev, &ctx, &args[0], pos)
    });
    let f = match ev.import(&known::path("lib.nix"), None) {
        Ok(f) => f,
        Err(e) => {
            ctx.report_error(e);
            return Thunk::value(ev.unknown("lib", None));
        }
    };
    let arg = Thunk::value(Value::attrs(Attrs::from_unsorted(vec![attr(
        "evalModules",
        eval_modules,
    )])));
    match ev.apply(f, arg, None) {
        Ok(Value::Attrs(lib)) => {
            let mut extra = vec![attr(OPEN_MARKER, Value::string("nixpkgs `lib`"))];
            // Its sections are partly modelled too (`lib.fixedPoints.composeManyExtensions`).
            for section in LIB_SECTIONS {
                let Some(set) = lib.get(section) else {
                    continue;
                };
                let set = set.clone();
                let what = format!("nixpkgs `lib.{section}`");
                extra.push(thunk_attr(
                    section,
                    Thunk::native("lib section", move |ev, pos| match ev.force(&set, pos)? {
                        Value::Attrs(t) => {
                            Ok(Value::attrs(t.update(&Attrs::from_unsorted(vec![attr(
                                OPEN_MARKER,
                                Value::string(what.clone()),
                            )]))))
                        }
                        other => Ok(other),
                    }),
                ));
            }
            Thunk::value(Value::attrs(lib.update(&Attrs::from_unsorted(extra))))
        }
        Ok(other) => Thunk::value(other),
        Err(e) => {
            ctx.report_error(e);
            Thunk::value(ev.unknown("lib", None))
        }
    }
}

/// `lib.evalModules { modules; specialArgs ? { }; ... }`.
fn eval_modules(
    ev: &mut Evaluator<'_>,
    ctx: &Rc<ModuleContext>,
    arg: &Thunk,
    pos: Option<Pos>,
) -> EvalResult<Value> {
    let Value::Attrs(arg) = ev.force(arg, pos)? else {
        return Ok(ev.unknown("evalModules with an argument that is not a set", pos));
    };
    let modules = match arg.get("modules") {
        Some(m) => match ev.force(&m.clone(), pos)? {
            Value::List(items) => items
                .iter()
                .map(|t| ModuleSource::new(t.clone(), None, pos))
                .collect(),
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    let args = special_args(ev, arg.get("specialArgs"), pos)?;
    // The user's own evaluation: as in NixOS, what no module declares does not exist.
    let settings = EvalSettings {
        strict: true,
        ..EvalSettings::default()
    };
    let evaluation = evaluate(ctx, ev, modules, args, settings);
    Ok(Value::attrs(Attrs::from_unsorted(vec![
        thunk_attr("config", evaluation.config.clone()),
        attr(
            "options",
            ev.unknown("the options of evalModules are not modelled", pos),
        ),
        attr("_type", Value::string("configuration")),
    ])))
}

fn special_args(
    ev: &mut Evaluator<'_>,
    value: Option<&Thunk>,
    pos: Option<Pos>,
) -> EvalResult<Vec<(Name, Thunk)>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    Ok(match ev.force(&value.clone(), pos)? {
        Value::Attrs(a) => a
            .entries
            .iter()
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect(),
        _ => Vec::new(),
    })
}

/// The flake-parts input: `lib.mkFlake` and `flakeModules.modules`.
fn flake_parts_value(
    ev: &mut Evaluator<'_>,
    ctx: &Rc<ModuleContext>,
    sink: &Rc<Sink>,
    lib: &Thunk,
    name: &str,
    self_thunk: &Thunk,
    inputs_thunk: &Thunk,
) -> Value {
    let model = match import_model(ev, "flake-parts.nix", lib) {
        Ok(Value::Attrs(m)) => m,
        Ok(_) => return ev.unknown("flake-parts", None),
        Err(e) => {
            ctx.report_error(e);
            return ev.unknown("flake-parts", None);
        }
    };
    let core = model.get("coreModule").cloned();
    let modules_module = model.get("modulesModule").cloned();
    let flake_modules_module = model.get("flakeModulesModule").cloned();
    let weak: Weak<ModuleContext> = Rc::downgrade(ctx);
    // Weak: the sink holds the evaluations, whose values hold this function (a cycle Rc
    // cannot free). A call after the flake's evaluation ended still evaluates, unrecorded.
    let sink = Rc::downgrade(sink);
    let self_thunk = self_thunk.clone();
    let default_inputs = inputs_thunk.clone();
    let core_for_fn = core.clone();
    let mk_flake = Value::host("flake-parts.lib.mkFlake", 2, move |ev, args, pos| {
        let Some(ctx) = weak.upgrade() else {
            return Ok(ev.unknown("mkFlake after the evaluation ended", pos));
        };
        let Value::Attrs(first) = ev.force(&args[0], pos)? else {
            return Ok(ev.unknown("mkFlake's first argument is not a set", pos));
        };
        let inputs = first
            .get("inputs")
            .cloned()
            .unwrap_or_else(|| default_inputs.clone());
        let this = first
            .get("self")
            .cloned()
            .unwrap_or_else(|| self_thunk.clone());
        let mut special = special_args(ev, first.get("specialArgs"), pos)?;
        special.push(("inputs".into(), inputs));
        special.push(("self".into(), this));
        let mut modules = Vec::new();
        if let Some(core) = &core_for_fn {
            modules.push(ModuleSource::new(
                core.clone(),
                Some(Rc::from(known::path("flake-parts.nix"))),
                None,
            ));
        }
        modules.push(ModuleSource::new(args[1].clone(), None, pos));
        let settings = EvalSettings {
            checked_below: Some(("flake.clan".into(), Code::C011)),
            ..EvalSettings::default()
        };
        let evaluation = evaluate(&ctx, ev, modules, special, settings);
        if let Some(sink) = sink.upgrade() {
            sink.flake_parts.borrow_mut().push(evaluation.clone());
        }
        match evaluation.node(ev, &["flake"]) {
            Some(node) => {
                let t = node.value_thunk();
                match ev.force(&t, pos)? {
                    Value::Attrs(a) => {
                        Ok(Value::attrs(a.update(&Attrs::from_unsorted(vec![attr(
                            OPEN_MARKER,
                            Value::string("the flake's outputs"),
                        )]))))
                    }
                    other => Ok(other),
                }
            }
            None => Ok(ev.unknown("flake-parts outputs", pos)),
        }
    });
    let lib_set = open_set(vec![attr("mkFlake", mk_flake)], &format!("`{name}.lib`"));
    let mut flake_modules = Vec::new();
    if let Some(m) = modules_module {
        flake_modules.push(thunk_attr("modules", m));
    }
    if let Some(m) = flake_modules_module {
        flake_modules.push(thunk_attr("flakeModules", m));
    }
    let flake_modules = open_set(flake_modules, &format!("`{name}.flakeModules`"));
    open_set(
        vec![attr("lib", lib_set), attr("flakeModules", flake_modules)],
        &format!("input `{name}` (flake-parts)"),
    )
}

fn import_model(ev: &mut Evaluator<'_>, file: &str, lib: &Thunk) -> EvalResult<Value> {
    import_model_with(ev, file, vec![thunk_attr("lib", lib.clone())])
}

fn import_model_with(ev: &mut Evaluator<'_>, file: &str, args: Vec<Attr>) -> EvalResult<Value> {
    let f = ev.import(&known::path(file), None)?;
    ev.apply(
        f,
        Thunk::value(Value::attrs(Attrs::from_unsorted(args))),
        None,
    )
}

/// The clan-core input: `flakeModules.default` and `lib.clan`.
fn clan_core_value(
    ev: &mut Evaluator<'_>,
    ctx: &Rc<ModuleContext>,
    sink: &Rc<Sink>,
    lib: &Thunk,
    name: &str,
    root: &Rc<str>,
) -> Value {
    let unknown = ev.unknown("computed by clan-core when it builds machines", None);
    let model = match import_model_with(
        ev,
        "clan-core.nix",
        vec![
            thunk_attr("lib", lib.clone()),
            attr("unknown", unknown),
            attr("clanDirectory", Value::Path(root.clone())),
        ],
    ) {
        Ok(Value::Attrs(m)) => m,
        Ok(_) => return ev.unknown("clan-core", None),
        Err(e) => {
            ctx.report_error(e);
            return ev.unknown("clan-core", None);
        }
    };
    let clan_module = model.get("clanModule").cloned();
    let flake_module = model.get("flakeModule").cloned();
    let weak: Weak<ModuleContext> = Rc::downgrade(ctx);
    // Weak: the sink holds the evaluations, whose values hold this function (a cycle Rc
    // cannot free). A call after the flake's evaluation ended still evaluates, unrecorded.
    let sink = Rc::downgrade(sink);
    let lib_clan = Value::host("clan-core.lib.clan", 1, move |ev, args, pos| {
        let Some(ctx) = weak.upgrade() else {
            return Ok(ev.unknown("lib.clan after the evaluation ended", pos));
        };
        let mut modules = Vec::new();
        if let Some(m) = &clan_module {
            modules.push(ModuleSource::new(
                m.clone(),
                Some(Rc::from(known::path("clan-core.nix"))),
                None,
            ));
        }
        modules.push(ModuleSource::new(args[0].clone(), None, pos));
        // `lib.clan { self = ...; ... }` gives the clan's modules `self` as a special
        // argument (clan-core's lib/clan); `nixpkgs`/`nix-darwin` come from inputs clanc
        // does not model, so they stay unknown arguments.
        let mut special = Vec::new();
        if let Ok(Value::Attrs(a)) = ev.force(&args[0], pos)
            && let Some(this) = a.get("self")
        {
            special.push((Name::from("self"), this.clone()));
        }
        let settings = EvalSettings {
            prefix: "clan".into(),
            type_code: Some(Code::C011),
            ..EvalSettings::default()
        };
        let evaluation = evaluate(&ctx, ev, modules, special, settings);
        if let Some(sink) = sink.upgrade() {
            sink.clans.borrow_mut().push(evaluation.clone());
        }
        Ok(Value::attrs(Attrs::from_unsorted(vec![
            thunk_attr("config", evaluation.config.clone()),
            attr(
                OPEN_MARKER,
                Value::string("the result of `clan-core.lib.clan`"),
            ),
        ])))
    });
    let mut flake_modules = Vec::new();
    if let Some(m) = flake_module {
        flake_modules.push(thunk_attr("default", m.clone()));
        flake_modules.push(thunk_attr("clan", m));
    }
    open_set(
        vec![
            attr(
                "lib",
                open_set(vec![attr("clan", lib_clan)], &format!("`{name}.lib`")),
            ),
            attr(
                "flakeModules",
                open_set(flake_modules, &format!("`{name}.flakeModules`")),
            ),
        ],
        &format!("input `{name}` (clan-core)"),
    )
}
