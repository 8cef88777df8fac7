//! The evaluator proper: the `Evaluator`, its file table and what it keeps for the embedder.
//! What it does lives in one file per concept:
//! - `budget`: steps, value bytes, depth and stack, and giving way to a newer revision;
//! - `import`: loading files and text as modules;
//! - `force`: forcing thunks (with blackholing), and forcing deeply;
//! - `expr`: evaluating IR expressions to weak head normal form, and the thunks made for them;
//! - `select`: attribute selection (`a.b`, `a ? b`) and open sets;
//! - `apply`: applying functions (lambdas, builtins, functors);
//! - `positions`: positions as values and in messages;
//! - `operators`: the binary operators and arithmetic;
//! - `compare`: `==` and `<`;
//! - `coerce`: coercion to strings.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::builtins;
use super::entered::EnteredExprs;
use super::error::EvalError;
use super::garbage::Garbage;
use super::ir::Module;
use super::limits::Limits;
use super::literals_used::UsedLiteral;
use super::thunk::{Env, Slots, Thunk};
use super::unknown::Unknown;
use super::value::Value;
use super::{FileId, Pos};
use crate::db::{self, DirEntry, EntryKind, SourceFile};

/// Why a file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    NotFound,
    NotUtf8,
    /// Past a size limit (the file, or all files read for one analysis): N005.
    TooLarge(String),
    Other(String),
}

/// Where the evaluator's files come from. Implementations load files into the database as
/// `SourceFile` inputs (once per path) and list directories; the evaluator does no I/O.
pub trait Files {
    /// The file at an absolute path.
    fn source(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError>;
    /// The entries of the directory at an absolute path, sorted by name.
    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FileError>;
    /// What is at an absolute path (following symlinks, as `import` and `pathExists` do),
    /// if anything.
    fn file_type(&self, path: &str) -> Option<EntryKind>;
    /// The file at an absolute path, read as text (`builtins.readFile`): its exact contents
    /// become a value, where an imported file only matters up to comments and whitespace.
    fn read_text(&self, db: &dyn db::Db, path: &str) -> Result<SourceFile, FileError> {
        self.source(db, path)
    }
}

struct FileInfo {
    path: String,
    text: Arc<str>,
}

pub struct Evaluator<'a> {
    db: &'a dyn db::Db,
    files: &'a dyn Files,
    file_table: Vec<FileInfo>,
    imports: HashMap<String, Thunk>,
    globals: HashMap<Rc<str>, Thunk>,
    limits: Limits,
    depth: usize,
    stack_base: usize,
    steps: u64,
    /// [`super::value::bytes_built`] when this evaluator started (or last got its budgets
    /// anew).
    built_base: u64,
    /// How many times the budgets were exhausted (and given anew).
    exhausted: u32,
    /// The whole clan's steps and values (`steps` and `built_base` count one stretch).
    budget: budget::ClanBudget,
    /// Messages of `builtins.trace` and `warn`, in order.
    pub trace_output: Vec<String>,
    pub(super) regex_cache: HashMap<String, Rc<regex::Regex>>,
    /// Frames whose slots may refer back to them (`let`, `rec`, formals with defaults):
    /// reference cycles that `Drop` breaks. Dead entries are pruned as the list grows.
    cyclic_envs: Vec<std::rc::Weak<Env>>,
    /// Where in `cyclic_envs` the current stretch of evaluation began (`begin_machine`).
    stretch_start: usize,
    /// Placeholders code outside the evaluator ties into cycles
    /// ([`Evaluator::self_referential_thunk`]), broken as `cyclic_envs` are.
    cyclic_thunks: Vec<Thunk>,
    /// Whether a position became part of a value or a message (`__curPos`,
    /// `unsafeGetAttrPos`, "called at file:line:column"): then results depend on where
    /// things are written, not only on what is written.
    positions_shown: std::cell::Cell<bool>,
    /// The literals whose values the evaluation used (see `literals_used`).
    literals_used: super::literals_used::LiteralsUsed,
    /// Every file loaded as code, for what the evaluation entered of it.
    modules: Vec<Rc<Module>>,
    /// Where the embedder read source text ([`Evaluator::pos_text`]).
    texts_shown: std::cell::RefCell<Vec<Pos>>,
    /// The first import of a file that does not parse (or does not lower).
    unreadable: Option<Box<EvalError>>,
    prune_at: usize,
}

/// Values must not outlive their evaluator: dropping it clears the slots of every frame that
/// may be part of a reference cycle, so that the memory is freed (Rc cannot collect cycles).
/// Dropped while unwinding (a newer edit cancelled the evaluation through salsa), it frees
/// nothing yet: the graph goes to this thread's deferred garbage, freed when the caller has let
/// go of its database snapshot (`Garbage::free_deferred`, or at the thread's end), so that the
/// edit waiting for that snapshot does not wait for the free too.
impl Drop for Evaluator<'_> {
    fn drop(&mut self) {
        let garbage = self.take_garbage();
        if std::thread::panicking() {
            garbage.defer();
        }
    }
}

/// The attribute that marks a set as open (see `Evaluator::open_rest`).
pub const OPEN_MARKER: &str = "__clancOpen";

/// Counts one level of evaluator recursion; `leave` must follow every successful `enter`.
macro_rules! guarded {
    ($self:ident, $pos:expr, $body:expr) => {{
        $self.enter($pos)?;
        let result = $body;
        $self.depth -= 1;
        result
    }};
}

mod apply;
mod budget;
mod coerce;
mod compare;
mod expr;
mod force;
mod import;
mod operators;
mod positions;
mod select;

pub use coerce::Coerced;
pub use force::ThunkOrigin;
pub use positions::no_pos;

impl<'a> Evaluator<'a> {
    pub fn new(db: &'a dyn db::Db, files: &'a dyn Files, limits: Limits) -> Evaluator<'a> {
        let (_, globals) = builtins::base_scope();
        Evaluator {
            db,
            files,
            file_table: Vec::new(),
            imports: HashMap::new(),
            globals,
            limits,
            depth: 0,
            stack_base: 0,
            steps: 0,
            built_base: super::value::bytes_built(),
            exhausted: 0,
            budget: budget::ClanBudget::new(&limits),
            trace_output: Vec::new(),
            regex_cache: HashMap::new(),
            cyclic_envs: Vec::new(),
            stretch_start: 0,
            cyclic_thunks: Vec::new(),
            positions_shown: std::cell::Cell::new(false),
            literals_used: Default::default(),
            modules: Vec::new(),
            texts_shown: Default::default(),
            unreadable: None,
            prune_at: 1024,
        }
    }

    /// The error of the first import so far of a file that does not parse: what such a file
    /// holds is unknown, so what was read from values it would have given is incomplete.
    pub fn first_unreadable_import(&self) -> Option<&EvalError> {
        self.unreadable.as_deref()
    }

    /// Whether a position became part of a value or a message (see `positions_shown`).
    pub fn showed_positions(&self) -> bool {
        self.positions_shown.get()
    }

    /// The literals (strings, numbers, `true`/`false`, syntax errors) whose values this
    /// evaluation used, by file path, sorted, and whether it read them: editing any other
    /// literal of a file cannot change what it computed, and editing a literal it did not
    /// read changes only the values copied out of it ([`super::NixString::copy_out`],
    /// [`Thunk::literal_number`]).
    pub fn literals_used(&self) -> HashMap<String, Vec<UsedLiteral>> {
        self.literals_used
            .ranges(|file| self.file_path(FileId(file)))
    }

    /// The expressions of each file loaded as code that this evaluation entered, by file path
    /// (files given as text, `«string»`, left out): an edit that changes only subtrees it never
    /// entered cannot change what it computed ([`EnteredExprs::carried_to`]).
    pub fn entered_exprs(&self) -> HashMap<String, EnteredExprs> {
        let mut out: HashMap<String, EnteredExprs> = HashMap::new();
        let mut mixed = Vec::new();
        for module in &self.modules {
            let path = self.file_path(module.file);
            if !path.starts_with('/') {
                continue;
            }
            let entered = EnteredExprs::new(module.lowered.clone(), module.entered());
            match out.get(&path).map(|e| e.union(&entered)) {
                // Another IR of the same path (never expected): nothing carries over.
                Some(None) => mixed.push(path),
                Some(Some(joined)) => {
                    out.insert(path, joined);
                }
                None => {
                    out.insert(path, entered);
                }
            }
        }
        for path in mixed {
            out.remove(&path);
        }
        out
    }

    /// Ends the evaluation without freeing it yet: everything it made stays alive in the
    /// returned [`Garbage`] (which no longer borrows the database) until that is dropped.
    pub fn into_garbage(mut self) -> Garbage {
        self.take_garbage()
    }

    fn take_garbage(&mut self) -> Garbage {
        let mut garbage = Garbage {
            builtins: self.globals.get("builtins").cloned(),
            cyclic_envs: self
                .cyclic_envs
                .drain(..)
                .filter_map(|env| env.upgrade())
                .collect(),
            cyclic_thunks: std::mem::take(&mut self.cyclic_thunks),
            roots: Vec::new(),
        };
        garbage.keep(std::mem::take(&mut self.globals));
        garbage.keep(std::mem::take(&mut self.imports));
        garbage
    }

    /// A placeholder ([`Thunk::blank`]) that its filling may refer back to (a flake's `self`
    /// and `inputs`, which hold each other): Rc cannot free that cycle, so the evaluation's
    /// end clears it as it clears `let` frames.
    pub fn self_referential_thunk(&mut self) -> Thunk {
        let thunk = Thunk::blank();
        self.cyclic_thunks.push(thunk.clone());
        thunk
    }

    /// Frees what reference cycles keep of the stretch of evaluation begun with
    /// [`Self::begin_machine`], once it has ended and its caller has let go of it: the
    /// frames it made that nothing else keeps (proved by [`super::cycles`]). Returns how
    /// many frames were emptied.
    pub fn collect_stretch_cycles(&mut self) -> usize {
        let start = self.stretch_start.min(self.cyclic_envs.len());
        let frames: Vec<Rc<Env>> = (self.cyclic_envs[start..].iter())
            .filter_map(|e| e.upgrade())
            .collect();
        super::cycles::collect(frames)
    }

    /// A frame whose slots are thunks that may refer to the frame itself.
    fn self_referential_env(&mut self, parent: &Rc<Env>, slots: Slots) -> Rc<Env> {
        let env = Env::child(parent, slots, false);
        self.cyclic_envs.push(Rc::downgrade(&env));
        if self.cyclic_envs.len() >= self.prune_at {
            let before = self.stretch_start.min(self.cyclic_envs.len());
            self.stretch_start = (self.cyclic_envs[..before].iter())
                .filter(|e| e.strong_count() > 0)
                .count();
            self.cyclic_envs.retain(|e| e.strong_count() > 0);
            self.prune_at = (self.cyclic_envs.len() * 2).max(1024);
        }
        env
    }

    /// How much stack lowering a file may use in this evaluation (the budget its imports
    /// lower with, so that a caller asking for a file's IR shares their memo).
    pub fn lower_budget(&self) -> usize {
        self.limits.lower_budget()
    }

    /// The path of a file id, as diagnostics show it.
    pub fn file_path(&self, file: FileId) -> String {
        self.file_table
            .get(file.0 as usize)
            .map(|f| f.path.clone())
            .unwrap_or_default()
    }

    pub fn file_text(&self, file: FileId) -> Arc<str> {
        self.file_table
            .get(file.0 as usize)
            .map(|f| f.text.clone())
            .unwrap_or_else(|| Arc::from(""))
    }

    /// Every file seen so far: path and text (for rendering diagnostics).
    pub fn sources(&self) -> impl Iterator<Item = (&str, &Arc<str>)> {
        self.file_table.iter().map(|f| (f.path.as_str(), &f.text))
    }

    fn add_file(&mut self, path: String, text: Arc<str>) -> FileId {
        self.file_table.push(FileInfo { path, text });
        FileId(self.file_table.len() as u32 - 1)
    }

    pub fn unknown(&self, reason: impl Into<String>, pos: Option<Pos>) -> Value {
        Value::Unknown(Rc::new(Unknown::new(reason, pos)))
    }

    /// Whether evaluation is pure (`Limits::pure`): nothing from the process environment.
    pub fn is_pure(&self) -> bool {
        self.limits.pure
    }

    pub(super) fn files(&self) -> &'a dyn Files {
        self.files
    }

    pub(super) fn db(&self) -> &'a dyn db::Db {
        self.db
    }
}

/// Canonicalizes an absolute path lexically: no `.`, `..`, repeated or trailing `/`.
pub fn canon_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        let mut out = String::new();
        for p in parts {
            out.push('/');
            out.push_str(p);
        }
        out
    }
}
