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
//!
//! The parts: `collect` reads the modules (imports, keys, arguments), `declarations` reads
//! and merges their option declarations, `evaluation` makes the option tree of one
//! evaluation (and of a submodule), `node` is a place in it, `children` the keys below a
//! node, `resolve` a node's winning definitions, `merge` its value by type, `derived` the
//! node a type merges as, and `checks` what is reported of wrong types and undeclared
//! options.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::diagnostics::Code;
use crate::eval::{Attr, EvalError, Pos, Thunk, Value};

mod checks;
mod children;
mod collect;
mod declarations;
mod derived;
mod evaluation;
mod merge;
mod node;
mod resolve;

pub use children::Children;
pub use declarations::{Decl, DeclEntry, DeclNs};
pub use evaluation::{Evaluation, evaluate};
pub use node::{Node, NodeKind};
pub use resolve::Resolved;

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

/// An entry of `ModuleContext::decl_cache`: the `options` value (kept, so that its address
/// is not reused), its declarations, and the top-level evaluation that read them first.
type CachedDecls = (Thunk, Rc<DeclNs>, u64);

/// A top-level evaluation's number, and how many evaluations and declaration-cache entries
/// there were when it began ([`ModuleContext::release`] looks only at those made since).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner {
    pub(crate) id: u64,
    evaluations: usize,
    decls: usize,
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
    /// Option declarations by the identity of the `options` value that made them, with the
    /// top-level evaluation that read them first (`Scope::owner`).
    decl_cache: RefCell<std::collections::HashMap<usize, CachedDecls>>,
    /// The keys of `decl_cache`, in the order they were added, with their evaluation's number.
    decl_keys: RefCell<Vec<(usize, u64)>>,
    /// The next `Def::seq`.
    next_seq: Cell<u64>,
    /// The next top-level evaluation's number (`Scope::owner`).
    next_owner: Cell<u64>,
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
            decl_keys: RefCell::default(),
            next_seq: Cell::new(0),
            next_owner: Cell::new(0),
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

    /// Lets go of a top-level evaluation and its submodules' evaluations, for a caller that
    /// has read what it needs and knows no value still refers to them (a machine's
    /// configuration once the model has read it): their option trees are freed here unless
    /// the caller holds them elsewhere. Values of them forced later answer as those of an
    /// ended evaluation.
    pub fn release(&self, evaluation: Rc<Evaluation>) {
        let owner = evaluation.root.scope.owner;
        // What it made was added since it began: only that part is looked at (the rest, the
        // flake's evaluations and what earlier machines kept, would make this quadratic).
        {
            let mut all = self.evaluations.borrow_mut();
            let since = owner.evaluations.min(all.len());
            let mut tail = all.split_off(since);
            tail.retain(|e| e.owner() != owner.id);
            all.append(&mut tail);
        }
        drop(evaluation);
        // The declarations it read first go too, unless their `options` value is still held
        // by something else than the entry (its key and the declarations' `sources`): a
        // module value another evaluation may collect again. Reading them again would give
        // the same declarations; this keeps that from costing every later machine.
        let mut keys = self.decl_keys.borrow_mut();
        let since = owner.decls.min(keys.len());
        let mut tail = keys.split_off(since);
        let mut cache = self.decl_cache.borrow_mut();
        tail.retain(|(key, first)| {
            let unshared = *first == owner.id
                && cache.get(key).is_some_and(|(options, _, o)| {
                    *o == owner.id && Rc::strong_count(&options.0) <= 2
                });
            if unshared {
                cache.remove(key);
            }
            !unshared
        });
        keys.append(&mut tail);
    }

    fn new_owner(&self) -> Owner {
        let id = self.next_owner.get();
        self.next_owner.set(id + 1);
        Owner {
            id,
            evaluations: self.evaluations.borrow().len(),
            decls: self.decl_keys.borrow().len(),
        }
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
    /// Where the `imports` value holding the element is written, and the element itself
    /// (when each is code of a file): what `plan --changed-since` need not follow further
    /// once the elements are known.
    pub list: Option<Pos>,
    pub element: Option<Pos>,
}

/// A module as the collector read it: its value (for a file, what importing the file gave,
/// before a function is called), the file it was imported from when it was a path, and
/// where it was given.
#[derive(Clone, Debug)]
pub struct ReadModule {
    pub value: Value,
    pub path: Option<Rc<str>>,
    pub pos: Option<Pos>,
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

fn attr(name: &str, value: Thunk) -> Attr {
    Attr {
        name: name.into(),
        value,
        pos: None,
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}
