//! The evaluator proper: forcing thunks (with blackholing), evaluating IR expressions to weak
//! head normal form, applying functions, importing files, and the operators.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use rnix::TextRange;

use super::builtins;
use super::entered::EnteredExprs;
use super::error::{ErrorKind, EvalError, EvalResult};
use super::garbage::Garbage;
use super::ir::{AttrKey, BinOp, Expr, ExprId, Lowered, Module, Param, Part, UnOp, Var};
use super::limits::Limits;
use super::literals_used::UsedLiteral;
use super::thunk::{Env, Slots, Thunk, ThunkState};
use super::unknown::Unknown;
use super::value::{Attr, Attrs, Closure, Op, PrimOpApp, Value};
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
    /// Messages of `builtins.trace` and `warn`, in order.
    pub trace_output: Vec<String>,
    pub(super) regex_cache: HashMap<String, Rc<regex::Regex>>,
    /// Frames whose slots may refer back to them (`let`, `rec`, formals with defaults):
    /// reference cycles that `Drop` breaks. Dead entries are pruned as the list grows.
    cyclic_envs: Vec<std::rc::Weak<Env>>,
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

/// How many times one evaluation gets its step and value budgets anew after exhausting them.
const MAX_EXHAUSTIONS: u32 = 3;

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
            trace_output: Vec::new(),
            regex_cache: HashMap::new(),
            cyclic_envs: Vec::new(),
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

    /// A frame whose slots are thunks that may refer to the frame itself.
    fn self_referential_env(&mut self, parent: &Rc<Env>, slots: Slots) -> Rc<Env> {
        let env = Env::child(parent, slots, false);
        self.cyclic_envs.push(Rc::downgrade(&env));
        if self.cyclic_envs.len() >= self.prune_at {
            self.cyclic_envs.retain(|e| e.strong_count() > 0);
            self.prune_at = (self.cyclic_envs.len() * 2).max(1024);
        }
        env
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

    fn tick(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        self.steps += 1;
        self.unwind_if_cancelled();
        self.within_budget(pos)
    }

    /// N005 once the steps or the bytes of values built pass their budgets. The expression
    /// that crossed a budget fails with it, and what is evaluated after it (the rest of the
    /// clan) gets the budgets anew, [`MAX_EXHAUSTIONS`] times: a clan with one runaway value
    /// is still checked, and no clan takes more than that many budgets.
    fn within_budget(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        let error = if self.steps > self.limits.max_steps {
            EvalError::new(
                ErrorKind::Limit,
                format!(
                    "evaluation exceeded the step budget of {}",
                    self.limits.max_steps
                ),
                pos,
            )
        } else if self.value_bytes() > self.limits.max_value_bytes {
            self.value_budget_exceeded(pos)
        } else {
            return Ok(());
        };
        if self.exhausted < MAX_EXHAUSTIONS {
            self.exhausted += 1;
            self.steps = 0;
            self.built_base = super::value::bytes_built();
        }
        Err(error)
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Bytes of values built so far.
    pub fn value_bytes(&self) -> u64 {
        super::value::bytes_built().saturating_sub(self.built_base)
    }

    /// N005 for a value that would take the values built past their budget.
    pub(super) fn value_budget_exceeded(&self, pos: Option<Pos>) -> Box<EvalError> {
        EvalError::new(
            ErrorKind::Limit,
            format!(
                "evaluation built more than {} MiB of values (strings, lists and sets), its budget",
                self.limits.max_value_bytes >> 20
            ),
            pos,
        )
    }

    /// Whether `bytes` more of values stay within the budget (checked before building a
    /// value whose size is known in advance).
    pub(super) fn can_build(&self, bytes: u64) -> bool {
        self.value_bytes().saturating_add(bytes) <= self.limits.max_value_bytes
    }

    /// Every few thousand steps, gives way to a newer revision of the database (an edit in the
    /// language server): salsa unwinds the evaluation with `Cancelled`, as it does on any
    /// query. Evaluation calls few queries once the files are lowered, so without this an
    /// edit would wait for most of a check to finish.
    fn unwind_if_cancelled(&self) {
        if self.steps.is_multiple_of(4096) {
            self.db.unwind_if_revision_cancelled();
        }
    }

    /// Counts one level of recursion of code outside this file (the printer); pair with
    /// `leave`.
    pub(super) fn enter_nested(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        self.enter(pos)
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn enter(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        // The stack grows down on every platform clanc runs on: measure how much of it this
        // evaluation has used, so that no input can overflow it, whatever the frame sizes.
        let marker = 0u8;
        let here = std::ptr::addr_of!(marker) as usize;
        if self.depth == 0 {
            self.stack_base = here;
        }
        if self.stack_base.saturating_sub(here) > self.limits.max_stack {
            return Err(EvalError::new(
                ErrorKind::Limit,
                "stack overflow (possible infinite recursion)",
                pos,
            ));
        }
        self.steps += 1;
        self.unwind_if_cancelled();
        self.within_budget(pos)?;
        if self.depth >= self.limits.max_depth {
            return Err(EvalError::new(
                ErrorKind::Limit,
                format!(
                    "evaluation nested deeper than the limit of {} (stack overflow, possible infinite recursion)",
                    self.limits.max_depth
                ),
                pos,
            ));
        }
        self.depth += 1;
        Ok(())
    }

    // ---- entry points --------------------------------------------------------------------

    /// Stack the evaluation has used so far.
    fn stack_used(&self) -> usize {
        let marker = 0u8;
        let here = std::ptr::addr_of!(marker) as usize;
        if self.depth == 0 {
            0
        } else {
            self.stack_base.saturating_sub(here)
        }
    }

    /// Notes an import of a file that does not parse, keeping the first error.
    fn unreadable(&mut self, error: Box<EvalError>) -> Box<EvalError> {
        self.unreadable.get_or_insert_with(|| error.clone());
        error
    }

    /// Registers a lowered file and turns its syntax and lowering errors into one error.
    fn load_module(
        &mut self,
        path: String,
        dir: Arc<str>,
        text: Arc<str>,
        syntax_errors: &[crate::syntax::SyntaxError],
        lowered: Arc<Lowered>,
    ) -> EvalResult<Rc<Module>> {
        let file = self.add_file(path, text);
        if let Some(e) = syntax_errors.first() {
            return Err(self.unreadable(EvalError::new(
                ErrorKind::Syntax,
                e.message.clone(),
                Some(Pos {
                    file,
                    range: e.range,
                }),
            )));
        }
        if let Some(e) = lowered.errors.first() {
            let mut err = EvalError::new(
                ErrorKind::Syntax,
                e.message.clone(),
                Some(Pos {
                    file,
                    range: e.range,
                }),
            );
            if let Some(prev) = e.previous {
                err.push_trace(Pos { file, range: prev }, "previously defined here");
            }
            return Err(self.unreadable(err));
        }
        let module = Rc::new(Module::new(lowered, file, dir));
        self.modules.push(module.clone());
        Ok(module)
    }

    /// Evaluates an expression given as text (`clanc eval --expr`), with relative paths
    /// resolved against `dir`. The file is named `«string»` in diagnostics.
    pub fn eval_text(&mut self, text: &str, dir: &str) -> EvalResult<Value> {
        let parse = crate::syntax::parse(text);
        // Lowering gets what is left of the evaluation's stack budget.
        let budget = self.limits.max_stack.saturating_sub(self.stack_used());
        let lowered = super::lower::lower(
            parse.root().and_then(|r| r.expr()),
            &builtins::is_global,
            budget,
        );
        let module = self.load_module(
            "«string»".to_string(),
            dir.into(),
            Arc::from(text),
            &parse.errors,
            Arc::new(lowered),
        )?;
        let root = module.root;
        self.eval(&module, root, &Env::root())
    }

    /// Evaluates the file at an absolute path (a directory means its `default.nix`).
    pub fn eval_file(&mut self, path: &str) -> EvalResult<Value> {
        self.import(path, None)
    }

    pub fn import(&mut self, path: &str, pos: Option<Pos>) -> EvalResult<Value> {
        let mut path = path.to_string();
        let is_dir = self.files.file_type(&path) == Some(EntryKind::Directory);
        if is_dir {
            path = format!("{}/default.nix", path.trim_end_matches('/'));
        }
        if let Some(thunk) = self.imports.get(&path).cloned() {
            return self.force(&thunk, pos);
        }
        let source = match self.files.source(self.db, &path) {
            Ok(s) => s,
            Err(FileError::NotFound) => {
                // Nix stats the path it was given, then opens `default.nix` of a directory.
                let what = if is_dir {
                    "opening file"
                } else {
                    "getting status of"
                };
                return Err(EvalError::new(
                    ErrorKind::MissingFile,
                    format!("{what} '{path}': No such file or directory"),
                    pos,
                ));
            }
            Err(FileError::NotUtf8) => {
                return Err(EvalError::eval(
                    format!("file '{path}' is not valid UTF-8"),
                    pos,
                ));
            }
            Err(FileError::Other(e)) => {
                return Err(EvalError::eval(format!("cannot read '{path}': {e}"), pos));
            }
            Err(FileError::TooLarge(e)) => {
                return Err(EvalError::new(
                    ErrorKind::Limit,
                    format!("cannot read '{path}': {e}"),
                    pos,
                ));
            }
        };
        // Half the stack budget for lowering the file (memoised per budget); an import
        // deeper than that into the evaluation's recursion is refused with N005.
        let lower_budget = self.limits.lower_budget();
        if self.stack_used() + lower_budget > self.limits.max_stack {
            return Err(EvalError::new(
                ErrorKind::Limit,
                format!("too little stack left to import '{path}' (possible infinite recursion)"),
                pos,
            ));
        }
        let text = source.text(self.db).clone();
        let syntax_errors = db::parse(self.db, source).errors.clone();
        if !syntax_errors.is_empty() && crate::syntax::sops_document::is_sops_encrypted(&text) {
            let reason = format!("'{path}' is encrypted with sops (it is Nix once decrypted)");
            return Ok(self.unknown(reason, pos));
        }
        let lowered = super::lower::lower_file(self.db, source, lower_budget).clone();
        let dir = super::lower::dir_of(&path);
        let module = self.load_module(path.clone(), dir.into(), text, &syntax_errors, lowered)?;
        let thunk = Thunk::code(module.clone(), module.root, Env::root());
        self.imports.insert(path, thunk.clone());
        self.force(&thunk, pos)
    }

    // ---- forcing -------------------------------------------------------------------------

    pub fn force(&mut self, thunk: &Thunk, pos: Option<Pos>) -> EvalResult<Value> {
        let state = {
            let mut cell = thunk.0.borrow_mut();
            match &*cell {
                ThunkState::Done(v) => return Ok(v.clone()),
                ThunkState::Literal(v, mark) => {
                    mark.note_read();
                    return Ok(v.clone());
                }
                ThunkState::Blackhole => {
                    return Err(EvalError::new(
                        ErrorKind::InfiniteRecursion,
                        "infinite recursion encountered",
                        pos,
                    ));
                }
                _ => std::mem::replace(&mut *cell, ThunkState::Blackhole),
            }
        };
        let result = match &state {
            ThunkState::Code(module, expr, env) => self.eval(module, *expr, env),
            ThunkState::Apply(f, args) => self.apply_many(f.clone(), args, pos),
            _ => Ok(Value::Null),
        };
        match result {
            Ok(v) => {
                thunk.set(ThunkState::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                // As in Nix, a failed thunk can be forced again (and fail again).
                thunk.set(state);
                Err(e)
            }
        }
    }

    pub fn force_value(&mut self, thunk: &Thunk) -> EvalResult<Value> {
        self.force(thunk, None)
    }

    /// Where the code of a not yet forced thunk is written (none once forced, or for
    /// thunks that are not code).
    pub fn thunk_pos(&self, thunk: &Thunk) -> Option<Pos> {
        match &*thunk.0.borrow() {
            ThunkState::Code(module, expr, _) => Some(Self::pos(module, *expr)),
            _ => None,
        }
    }

    /// Where the embedder read source text with [`Evaluator::pos_text`], by file path: what it
    /// computed from that text depends on all of it, entered by the evaluation or not.
    pub fn texts_shown(&self) -> HashMap<String, Vec<TextRange>> {
        let mut out: HashMap<String, Vec<TextRange>> = HashMap::new();
        for pos in self.texts_shown.borrow().iter() {
            out.entry(self.file_path(pos.file))
                .or_default()
                .push(pos.range);
        }
        out
    }

    /// The source text at a position.
    pub fn pos_text(&self, pos: Pos) -> Option<String> {
        self.texts_shown.borrow_mut().push(pos);
        let text = self.file_table.get(pos.file.0 as usize)?.text.clone();
        text.get(std::ops::Range::<usize>::from(pos.range))
            .map(str::to_string)
    }

    /// A lambda's formal argument names and whether it takes `...`; `None` for a function
    /// of one plain argument or a value that is no lambda.
    pub fn formals(value: &Value) -> Option<(Vec<Arc<str>>, bool)> {
        match value {
            Value::Lambda(closure) => match &closure.lambda.param {
                Param::Formals {
                    formals, ellipsis, ..
                } => Some((formals.iter().map(|f| f.name.clone()).collect(), *ellipsis)),
                Param::Ident(_) => None,
            },
            _ => None,
        }
    }

    fn pos(module: &Module, expr: ExprId) -> Pos {
        Pos {
            file: module.file,
            range: module.source_map.range(expr),
        }
    }

    /// A thunk for `expr` in `env`, reusing existing thunks for variables and skipping the
    /// thunk for constants.
    fn thunk_of(&self, module: &Rc<Module>, expr: ExprId, env: &Rc<Env>) -> Thunk {
        let code = module.expr(expr);
        if !matches!(
            code,
            Expr::Var(_) | Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Path { .. }
        ) {
            // only deferred: not entered
            return Thunk::code(module.clone(), expr, env.clone());
        }
        module.enter(expr);
        match code {
            Expr::Int(i) => self.literals_used.number(module, expr, Value::Int(*i)),
            Expr::Float(f) => self.literals_used.number(module, expr, Value::Float(*f)),
            Expr::Str(s) => Thunk::value(self.literals_used.string(module, expr, s)),
            Expr::Var(Var::Local { up, slot }) => {
                match env.ancestor(*up).and_then(|e| e.slots.get(*slot as usize)) {
                    Some(t) => t.clone(),
                    None => Thunk::code(module.clone(), expr, env.clone()),
                }
            }
            // `true` and `false` as values of their own, which note when they are read (the
            // shared global would not tell one use from another).
            e @ Expr::Var(Var::Global(_)) if e.boolean().is_some() => {
                let value = Value::Bool(e.boolean() == Some(true));
                self.literals_used.number(module, expr, value)
            }
            Expr::Var(Var::Global(name)) => match self.globals.get(&**name) {
                Some(t) => t.clone(),
                None => Thunk::code(module.clone(), expr, env.clone()),
            },
            // A path literal without interpolation is a constant, as in Nix.
            Expr::Path {
                home: false,
                relative,
                parts,
            } => match parts.as_slice() {
                [Part::Lit(p)] if *relative => Thunk::value(Value::Path(
                    canon_path(&format!("{}/{p}", module.dir)).into(),
                )),
                [Part::Lit(p)] => Thunk::value(Value::Path(canon_path(p).into())),
                _ => Thunk::code(module.clone(), expr, env.clone()),
            },
            _ => Thunk::code(module.clone(), expr, env.clone()),
        }
    }

    /// The first state of a `let` or `rec` slot: constants are values at once (as in Nix,
    /// which matters for what non-strict printing shows), anything else is code.
    fn initial_state(&self, module: &Rc<Module>, expr: ExprId, env: &Rc<Env>) -> ThunkState {
        let code = module.expr(expr);
        if !matches!(
            code,
            Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Path { .. } | Expr::Var(_)
        ) {
            // only deferred: not entered
            return ThunkState::Code(module.clone(), expr, env.clone());
        }
        module.enter(expr);
        match code {
            Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Path { .. } => {
                let constant = self.thunk_of(module, expr, env);
                match constant.constant_state() {
                    Some(state) => state,
                    None => ThunkState::Code(module.clone(), expr, env.clone()),
                }
            }
            // A variable of an enclosing frame already computed is shared as its value (Nix
            // shares the value). Siblings in the same frame are not: whether Nix sees them
            // computed depends on the order of its symbol table, which clanc cannot know.
            Expr::Var(Var::Local { up, slot }) if *up >= 1 => {
                match env
                    .ancestor(*up)
                    .and_then(|e| e.slots.get(*slot as usize))
                    .and_then(Thunk::constant_state)
                {
                    Some(state) => state,
                    None => ThunkState::Code(module.clone(), expr, env.clone()),
                }
            }
            _ => ThunkState::Code(module.clone(), expr, env.clone()),
        }
    }

    // ---- expressions ---------------------------------------------------------------------

    pub(super) fn eval(
        &mut self,
        module: &Rc<Module>,
        expr: ExprId,
        env: &Rc<Env>,
    ) -> EvalResult<Value> {
        let pos = Self::pos(module, expr);
        guarded!(self, Some(pos), self.eval_inner(module, expr, env, pos))
    }

    fn eval_inner(
        &mut self,
        module: &Rc<Module>,
        expr: ExprId,
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        // Tail positions (`if` branches, `let`/`with`/`assert` bodies) loop here instead of
        // recursing, and big cases live in their own functions: both keep the stack used
        // per level of Nix recursion small.
        let mut expr = expr;
        let mut env = env.clone();
        let mut pos = pos;
        loop {
            module.enter(expr);
            match module.expr(expr) {
                Expr::Int(i) => {
                    self.literals_used.note(module, expr);
                    return Ok(Value::Int(*i));
                }
                Expr::Float(f) => {
                    self.literals_used.note(module, expr);
                    return Ok(Value::Float(*f));
                }
                Expr::Str(s) => return Ok(self.literals_used.string(module, expr, s)),
                Expr::Var(var) => return self.lookup(var, &env, pos),
                Expr::Error => {
                    self.literals_used.note(module, expr);
                    return Err(EvalError::new(ErrorKind::Syntax, "syntax error", Some(pos)));
                }
                Expr::SearchPath(name) => {
                    return Ok(Value::Unknown(Rc::new(Unknown::new(
                        format!("the search path <{name}> (NIX_PATH is not modelled)"),
                        Some(pos),
                    ))));
                }
                Expr::CurPos => return Ok(self.position_attrs(pos)),
                Expr::Interp(parts) => {
                    self.literals_used.note(module, expr);
                    return self.eval_interp(module, parts, &env, pos);
                }
                Expr::Path {
                    home,
                    relative,
                    parts,
                } => {
                    return self.eval_path(module, *home, *relative, parts, &env, pos);
                }
                Expr::Select {
                    expr: inner,
                    path,
                    default,
                } => return self.eval_select(module, inner, path, default, &env, pos),
                Expr::HasAttr { expr: inner, path } => {
                    return self.eval_has_attr(module, inner, path, &env, pos);
                }
                Expr::Attrs(set) => return self.eval_attrs(module, set, &env),
                Expr::Unary(op, inner) => return self.eval_unary(module, op, inner, &env, pos),
                Expr::List(items) => {
                    let items: Vec<Thunk> = items
                        .iter()
                        .map(|i| self.thunk_of(module, *i, &env))
                        .collect();
                    return Ok(Value::list(items));
                }
                Expr::Lambda(lambda) => {
                    return Ok(Value::Lambda(Rc::new(Closure {
                        module: module.clone(),
                        lambda: lambda.clone(),
                        id: expr,
                        env: env.clone(),
                    })));
                }
                Expr::Apply { func, arg } => {
                    let f = self.eval(module, *func, &env)?;
                    let arg = self.thunk_of(module, *arg, &env);
                    return self.apply(f, arg, Some(pos));
                }
                Expr::Binary(op, lhs, rhs) => {
                    return self.binary(module, *op, *lhs, *rhs, &env, pos);
                }
                Expr::Let { bindings, body } => {
                    let slots: Slots = bindings.iter().map(|_| Thunk::blank()).collect();
                    let new_env = self.self_referential_env(&env, slots);
                    for (slot, b) in new_env.slots.iter().zip(bindings.iter()) {
                        slot.set(self.initial_state(module, *b, &new_env));
                    }
                    env = new_env;
                    expr = *body;
                }
                Expr::With { namespace, body } => {
                    let ns = self.thunk_of(module, *namespace, &env);
                    env = Env::child(&env, smallvec::smallvec![ns], true);
                    expr = *body;
                }
                Expr::If { cond, then, else_ } => match self.eval_condition(module, *cond, &env)? {
                    Ok(true) => expr = *then,
                    Ok(false) => expr = *else_,
                    Err(u) => return Ok(Value::Unknown(u)),
                },
                Expr::Assert { cond, body } => match self.eval_condition(module, *cond, &env)? {
                    Ok(true) => expr = *body,
                    Ok(false) => return Err(self.assertion_failed(module, *cond, pos)),
                    Err(u) => return Ok(Value::Unknown(u)),
                },
            }
            pos = Self::pos(module, expr);
            self.tick(Some(pos))?;
        }
    }

    #[inline(never)]
    fn eval_condition(
        &mut self,
        module: &Rc<Module>,
        cond: ExprId,
        env: &Rc<Env>,
    ) -> EvalResult<Result<bool, Rc<Unknown>>> {
        match self.eval(module, cond, env)? {
            Value::Bool(b) => Ok(Ok(b)),
            Value::Unknown(u) => Ok(Err(u)),
            other => Err(EvalError::eval(
                format!("value is {} while a Boolean was expected", other.describe()),
                Some(Self::pos(module, cond)),
            )),
        }
    }

    #[inline(never)]
    fn assertion_failed(&self, module: &Rc<Module>, cond: ExprId, pos: Pos) -> Box<EvalError> {
        let text = self.file_text(module.file);
        let range = module.source_map.range(cond);
        let shown = text
            .get(std::ops::Range::<usize>::from(range))
            .unwrap_or("");
        EvalError::new(
            ErrorKind::Assert,
            format!("assertion '{shown}' failed"),
            Some(pos),
        )
    }

    #[inline(never)]
    fn eval_interp(
        &mut self,
        module: &Rc<Module>,
        parts: &[Part],
        env: &Rc<Env>,
        _pos: Pos,
    ) -> EvalResult<Value> {
        let pos_of = |e: ExprId| Self::pos(module, e);

        let mut out = String::new();
        let mut context = false;
        for part in parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Expr(e) => {
                    let v = self.eval(module, *e, env)?;
                    match self.coerce_to_string(v, pos_of(*e), false, true)? {
                        Coerced::Str(s, c) => {
                            out.push_str(&s);
                            context |= c;
                        }
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    }
                }
            }
        }
        Ok(Value::string_with(out, context))
    }

    #[inline(never)]
    fn eval_path(
        &mut self,
        module: &Rc<Module>,
        home: bool,
        relative: bool,
        parts: &[Part],
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let pos_of = |e: ExprId| Self::pos(module, e);

        let mut out = String::new();
        if relative {
            out.push_str(&module.dir);
            out.push('/');
        }
        if home && self.limits.pure {
            return Ok(Value::Unknown(Rc::new(Unknown::new(
                "a path in the home directory (`~`): a flake's pure evaluation does not read it",
                Some(pos),
            ))));
        }
        if home {
            match std::env::var("HOME") {
                Ok(h) => out.push_str(&h),
                Err(_) => {
                    return Ok(Value::Unknown(Rc::new(Unknown::new(
                        "the home directory ($HOME is not set)",
                        Some(pos),
                    ))));
                }
            }
        }
        for part in parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Expr(e) => {
                    let v = self.eval(module, *e, env)?;
                    match self.coerce_to_string(v, pos_of(*e), false, false)? {
                        Coerced::Str(s, _) => out.push_str(&s),
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    }
                }
            }
        }
        Ok(Value::Path(canon_path(&out).into()))
    }

    #[inline(never)]
    fn eval_select(
        &mut self,
        module: &Rc<Module>,
        inner: &ExprId,
        path: &[AttrKey],
        default: &Option<ExprId>,
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let mut value = self.eval(module, *inner, env)?;
        for key in path {
            let name = match self.attr_name(module, key, env)? {
                Ok(n) => n,
                Err(u) => return Ok(Value::Unknown(u)),
            };
            let attrs = match &value {
                Value::Attrs(a) => a.clone(),
                Value::Unknown(_) => return Ok(value),
                other => {
                    if let Some(d) = default {
                        return self.eval(module, *d, env);
                    }
                    return Err(EvalError::eval(
                        format!("value is {} while a set was expected", other.describe()),
                        Some(pos),
                    ));
                }
            };
            match attrs.get(&name) {
                Some(t) => {
                    let t = t.clone();
                    value = self.force(&t, Some(pos))?;
                }
                None => {
                    if let Some(open) = self.open_rest(&attrs, &name, pos)? {
                        return Ok(open);
                    }
                    if let Some(d) = default {
                        return self.eval(module, *d, env);
                    }
                    return Err(EvalError::eval(
                        format!("attribute '{name}' missing"),
                        Some(pos),
                    ));
                }
            }
        }
        Ok(value)
    }

    /// For an attribute a set lacks: an unknown when the set is *open*, i.e. a model of
    /// something only partly known (an input's outputs, `lib`), marked by an `__clancOpen`
    /// attribute whose value says what the set stands for.
    pub(super) fn open_rest(
        &mut self,
        attrs: &Attrs,
        name: &str,
        pos: Pos,
    ) -> EvalResult<Option<Value>> {
        let Some(open) = attrs.get(OPEN_MARKER) else {
            return Ok(None);
        };
        let open = open.clone();
        let what = match self.force(&open, Some(pos))? {
            Value::String(s) => s.text().to_string(),
            _ => "a partly modelled set".to_string(),
        };
        Ok(Some(Value::Unknown(Rc::new(Unknown::new(
            format!("`{name}` of {what} is not modelled"),
            Some(pos),
        )))))
    }

    /// When `attrs` is *open* (see `open_rest`): an unknown standing for what it would be
    /// to enumerate its names or compare it, which the model cannot know.
    pub(crate) fn open_names(
        &mut self,
        attrs: &Attrs,
        pos: Option<Pos>,
    ) -> EvalResult<Option<Rc<Unknown>>> {
        let Some(open) = attrs.get(OPEN_MARKER) else {
            return Ok(None);
        };
        let open = open.clone();
        let what = match self.force(&open, pos)? {
            Value::String(s) => s.text().to_string(),
            _ => "a partly modelled set".to_string(),
        };
        Ok(Some(Rc::new(Unknown::new(
            format!("the attribute names of {what} are not all modelled"),
            pos,
        ))))
    }

    #[inline(never)]
    fn eval_has_attr(
        &mut self,
        module: &Rc<Module>,
        inner: &ExprId,
        path: &[AttrKey],
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let mut value = self.eval(module, *inner, env)?;
        for key in path {
            let name = match self.attr_name(module, key, env)? {
                Ok(n) => n,
                Err(u) => return Ok(Value::Unknown(u)),
            };
            match &value {
                Value::Attrs(a) => match a.get(&name) {
                    Some(t) => {
                        let t = t.clone();
                        value = self.force(&t, Some(pos))?;
                    }
                    None => {
                        return Ok(self.open_rest(a, &name, pos)?.unwrap_or(Value::Bool(false)));
                    }
                },
                Value::Unknown(_) => return Ok(value),
                _ => return Ok(Value::Bool(false)),
            }
        }
        Ok(Value::Bool(true))
    }

    #[inline(never)]
    fn eval_attrs(
        &mut self,
        module: &Rc<Module>,
        set: &Arc<super::ir::AttrsExpr>,
        env: &Rc<Env>,
    ) -> EvalResult<Value> {
        let pos_of = |e: ExprId| Self::pos(module, e);

        let set = set.clone();
        let scope = if set.rec {
            let slots: Slots = set.attrs.iter().map(|_| Thunk::blank()).collect();
            let new_env = self.self_referential_env(env, slots);
            for (slot, def) in new_env.slots.iter().zip(set.attrs.iter()) {
                slot.set(self.initial_state(module, def.value, &new_env));
            }
            new_env
        } else {
            env.clone()
        };
        let mut entries: Vec<Attr> = Vec::with_capacity(set.attrs.len());
        for (i, def) in set.attrs.iter().enumerate() {
            let value = if set.rec {
                scope.slots[i].clone()
            } else {
                self.thunk_of(module, def.value, &scope)
            };
            entries.push(Attr {
                name: def.name.clone(),
                value,
                pos: Some(Pos {
                    file: module.file,
                    range: def.range,
                }),
            });
        }
        let mut attrs = Attrs { entries };
        for (key, value) in &set.dynamic {
            let k = self.eval(module, *key, &scope)?;
            let name = match k {
                Value::Null => continue,
                Value::String(s) => s.text().to_string(),
                Value::Unknown(u) => return Ok(Value::Unknown(u)),
                other => {
                    return Err(EvalError::eval(
                        format!("value is {} while a string was expected", other.describe()),
                        Some(pos_of(*key)),
                    ));
                }
            };
            if attrs.get(&name).is_some() {
                return Err(EvalError::eval(
                    format!("dynamic attribute '{name}' already defined"),
                    Some(pos_of(*key)),
                ));
            }
            let attr = Attr {
                name: name.into(),
                value: self.thunk_of(module, *value, &scope),
                pos: Some(pos_of(*key)),
            };
            let at = attrs.entries.partition_point(|a| a.name < attr.name);
            attrs.entries.insert(at, attr);
        }
        Ok(Value::attrs(attrs))
    }

    #[inline(never)]
    fn eval_unary(
        &mut self,
        module: &Rc<Module>,
        op: &UnOp,
        inner: &ExprId,
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let v = self.eval(module, *inner, env)?;
        match (op, v) {
            (_, Value::Unknown(u)) => Ok(Value::Unknown(u)),
            (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
            (UnOp::Negate, Value::Int(i)) => Ok(Value::Int(0i64.wrapping_sub(i))),
            (UnOp::Negate, Value::Float(f)) => Ok(Value::Float(0.0 - f)),
            (UnOp::Not, other) => Err(EvalError::eval(
                format!("value is {} while a Boolean was expected", other.describe()),
                Some(pos),
            )),
            (UnOp::Negate, other) => Err(EvalError::eval(
                format!(
                    "value is {} while an integer was expected",
                    other.describe()
                ),
                Some(pos),
            )),
        }
    }

    fn lookup(&mut self, var: &Var, env: &Rc<Env>, pos: Pos) -> EvalResult<Value> {
        match var {
            Var::Local { up, slot } => {
                let thunk = env
                    .ancestor(*up)
                    .and_then(|e| e.slots.get(*slot as usize))
                    .cloned()
                    .ok_or_else(|| {
                        EvalError::eval("internal error: unbound variable slot", Some(pos))
                    })?;
                self.force(&thunk, Some(pos))
            }
            Var::Global(name) => match self.globals.get(&**name).cloned() {
                Some(t) => self.force(&t, Some(pos)),
                None => Err(EvalError::eval(
                    format!("undefined variable '{name}'"),
                    Some(pos),
                )),
            },
            Var::With(name) => {
                let mut cur = Some(env.clone());
                while let Some(e) = cur {
                    if e.is_with
                        && let Some(ns) = e.slots.first().cloned()
                    {
                        match self.force(&ns, Some(pos))? {
                            Value::Attrs(a) => {
                                if let Some(t) = a.get(name) {
                                    let t = t.clone();
                                    return self.force(&t, Some(pos));
                                }
                            }
                            Value::Unknown(u) => return Ok(Value::Unknown(u)),
                            other => {
                                return Err(EvalError::eval(
                                    format!(
                                        "value is {} while a set was expected",
                                        other.describe()
                                    ),
                                    Some(pos),
                                ));
                            }
                        }
                    }
                    cur = e.parent.clone();
                }
                Err(EvalError::eval(
                    format!("undefined variable '{name}'"),
                    Some(pos),
                ))
            }
        }
    }

    /// The name an attrpath element stands for, or the unknown it evaluated to.
    fn attr_name(
        &mut self,
        module: &Rc<Module>,
        key: &AttrKey,
        env: &Rc<Env>,
    ) -> EvalResult<Result<super::value::Name, Rc<Unknown>>> {
        match key {
            AttrKey::Static(s) => Ok(Ok(s.clone())),
            AttrKey::Dynamic(e) => {
                let v = self.eval(module, *e, env)?;
                match v {
                    Value::String(s) => Ok(Ok(s.text().into())),
                    Value::Unknown(u) => Ok(Err(u)),
                    other => Err(EvalError::eval(
                        format!("value is {} while a string was expected", other.describe()),
                        Some(Self::pos(module, *e)),
                    )),
                }
            }
        }
    }

    // ---- application ---------------------------------------------------------------------

    pub fn apply_many(&mut self, f: Value, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
        let mut f = f;
        for a in args {
            f = self.apply(f, a.clone(), pos)?;
        }
        Ok(f)
    }

    /// Applies a function to one argument.
    pub fn apply(&mut self, f: Value, arg: Thunk, pos: Option<Pos>) -> EvalResult<Value> {
        guarded!(self, pos, self.apply_inner(f, arg, pos))
    }

    fn apply_inner(&mut self, f: Value, arg: Thunk, pos: Option<Pos>) -> EvalResult<Value> {
        match f {
            Value::Lambda(closure) => {
                let new_env = match &closure.lambda.param {
                    Param::Ident(_) => Env::child(&closure.env, smallvec::smallvec![arg], false),
                    Param::Formals {
                        formals,
                        ellipsis,
                        bind,
                    } => {
                        let lambda_pos = Self::pos(&closure.module, closure.id);
                        let attrs = match self.force(&arg, pos)? {
                            Value::Attrs(a) => a,
                            Value::Unknown(u) => return Ok(Value::Unknown(u)),
                            other => {
                                return Err(EvalError::eval(
                                    format!(
                                        "value is {} while a set was expected",
                                        other.describe()
                                    ),
                                    pos,
                                ));
                            }
                        };
                        let mut slots = Slots::with_capacity(formals.len() + 1);
                        let mut defaults = Vec::new();
                        for formal in formals {
                            match attrs.get(&formal.name) {
                                Some(t) => slots.push(t.clone()),
                                None => match formal.default {
                                    Some(d) => {
                                        defaults.push((slots.len(), d));
                                        slots.push(Thunk::blank());
                                    }
                                    None => {
                                        let at = self.describe_pos(lambda_pos);
                                        let mut e = EvalError::eval(
                                            format!(
                                                "anonymous function at {at} called without required argument '{}'",
                                                formal.name
                                            ),
                                            pos,
                                        );
                                        e.push_trace(lambda_pos, "the function is defined here");
                                        return Err(e);
                                    }
                                },
                            }
                        }
                        if !ellipsis {
                            for attr in &attrs.entries {
                                if !formals.iter().any(|f| f.name == attr.name) {
                                    let at = self.describe_pos(lambda_pos);
                                    let mut e = EvalError::eval(
                                        format!(
                                            "anonymous function at {at} called with unexpected argument '{}'",
                                            attr.name
                                        ),
                                        pos,
                                    );
                                    e.push_trace(lambda_pos, "the function is defined here");
                                    return Err(e);
                                }
                            }
                        }
                        if bind.is_some() {
                            slots.push(arg);
                        }
                        let new_env = self.self_referential_env(&closure.env, slots);
                        for (slot, d) in defaults {
                            new_env.slots[slot].set(ThunkState::Code(
                                closure.module.clone(),
                                d,
                                new_env.clone(),
                            ));
                        }
                        new_env
                    }
                };
                let result = self.eval(&closure.module, closure.lambda.body, &new_env);
                result.map_err(|mut e| {
                    if let Some(p) = pos {
                        e.push_trace(p, "while calling this function");
                    }
                    e
                })
            }
            Value::PrimOp(app) => {
                let mut args = app.args.clone();
                args.push(arg);
                if args.len() == app.op.arity() {
                    let result = match &app.op {
                        Op::Builtin(op) => (op.func)(self, &args, pos),
                        Op::Host(op) => (op.func)(self, &args, pos),
                    };
                    result.map_err(|mut e| {
                        if let Some(p) = pos {
                            e.push_trace(
                                p,
                                format!("while calling the '{}' builtin", app.op.name()),
                            );
                        }
                        e
                    })
                } else {
                    Ok(Value::PrimOp(Rc::new(PrimOpApp {
                        op: app.op.clone(),
                        args,
                    })))
                }
            }
            Value::Attrs(attrs) => match attrs.get("__functor") {
                Some(functor) => {
                    let functor = functor.clone();
                    let functor = self.force(&functor, pos)?;
                    let this = Thunk::value(Value::Attrs(attrs.clone()));
                    let partial = self.apply(functor, this, pos)?;
                    self.apply(partial, arg, pos)
                }
                None => Err(EvalError::eval(
                    "attempt to call something which is not a function but a set",
                    pos,
                )),
            },
            Value::Unknown(u) => Ok(Value::Unknown(u)),
            other => Err(EvalError::eval(
                format!(
                    "attempt to call something which is not a function but {}",
                    other.describe()
                ),
                pos,
            )),
        }
    }

    /// Calls a function the way `nix-instantiate` does along an `--attr` path: a function
    /// with formals gets `{ }` (each formal needs a default), a functor set is called
    /// through `__functor`; anything else is returned as it is.
    pub fn auto_call(&mut self, v: Value) -> EvalResult<Value> {
        match &v {
            Value::Lambda(closure) => match &closure.lambda.param {
                Param::Formals { formals, .. } => {
                    if let Some(f) = formals.iter().find(|f| f.default.is_none()) {
                        return Err(EvalError::eval(
                            format!(
                                "cannot evaluate a function that has an argument without a value ('{}')",
                                f.name
                            ),
                            Some(Self::pos(&closure.module, closure.id)),
                        ));
                    }
                    self.apply(
                        v.clone(),
                        Thunk::value(Value::attrs(Attrs::default())),
                        None,
                    )
                }
                Param::Ident(_) => Ok(v),
            },
            Value::Attrs(a) => match a.get("__functor").cloned() {
                Some(functor) => {
                    let functor = self.force(&functor, None)?;
                    let inner = self.apply(functor, Thunk::value(v.clone()), None)?;
                    self.auto_call(inner)
                }
                None => Ok(v),
            },
            _ => Ok(v),
        }
    }

    /// `{ file, line, column }` for a position, as `__curPos` and `unsafeGetAttrPos` give it.
    /// Like Nix, an expression given on the command line names its own text as the file.
    pub fn position_attrs(&self, pos: Pos) -> Value {
        self.positions_shown.set(true);
        let text = self.file_text(pos.file);
        let index = crate::syntax::LineIndex::new(&text);
        let lc = index.line_col(&text, pos.range.start());
        let path = self.file_path(pos.file);
        let file = if path == "«string»" {
            text.to_string()
        } else {
            path
        };
        let entry = |name: &str, v: Value| Attr {
            name: name.into(),
            value: Thunk::value(v),
            pos: None,
        };
        Value::attrs(Attrs {
            entries: vec![
                entry("column", Value::Int(i64::from(lc.column))),
                entry("file", Value::string(file)),
                entry("line", Value::Int(i64::from(lc.line))),
            ],
        })
    }

    /// `file:line:column` of a position, as Nix shows it in messages.
    pub fn describe_pos(&self, pos: Pos) -> String {
        self.positions_shown.set(true);
        let text = self.file_text(pos.file);
        let index = crate::syntax::LineIndex::new(&text);
        let lc = index.line_col(&text, pos.range.start());
        let path = self.file_path(pos.file);
        let path = if path == "«string»" {
            "(string)".to_string()
        } else {
            path
        };
        format!("{path}:{}:{}", lc.line, lc.column)
    }

    // ---- operators -----------------------------------------------------------------------

    fn binary(
        &mut self,
        module: &Rc<Module>,
        op: BinOp,
        lhs: ExprId,
        rhs: ExprId,
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let bool_of = |this: &mut Self, e: ExprId| -> EvalResult<Result<bool, Rc<Unknown>>> {
            match this.eval(module, e, env)? {
                Value::Bool(b) => Ok(Ok(b)),
                Value::Unknown(u) => Ok(Err(u)),
                other => Err(EvalError::eval(
                    format!("value is {} while a Boolean was expected", other.describe()),
                    Some(Self::pos(module, e)),
                )),
            }
        };
        match op {
            BinOp::And => match bool_of(self, lhs)? {
                Ok(false) => Ok(Value::Bool(false)),
                Ok(true) => Ok(bool_of(self, rhs)?.map_or_else(Value::Unknown, Value::Bool)),
                Err(u) => Ok(Value::Unknown(u)),
            },
            BinOp::Or => match bool_of(self, lhs)? {
                Ok(true) => Ok(Value::Bool(true)),
                Ok(false) => Ok(bool_of(self, rhs)?.map_or_else(Value::Unknown, Value::Bool)),
                Err(u) => Ok(Value::Unknown(u)),
            },
            BinOp::Implication => match bool_of(self, lhs)? {
                Ok(false) => Ok(Value::Bool(true)),
                Ok(true) => Ok(bool_of(self, rhs)?.map_or_else(Value::Unknown, Value::Bool)),
                Err(u) => Ok(Value::Unknown(u)),
            },
            _ => {
                let a = self.eval(module, lhs, env)?;
                let b = self.eval(module, rhs, env)?;
                self.binary_values(op, a, b, Some(pos))
            }
        }
    }

    pub fn binary_values(
        &mut self,
        op: BinOp,
        a: Value,
        b: Value,
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        if let Value::Unknown(u) = &a {
            return Ok(Value::Unknown(u.clone()));
        }
        if let Value::Unknown(u) = &b {
            return Ok(Value::Unknown(u.clone()));
        }
        match op {
            BinOp::Eq => Ok(tri(self.equal(&a, &b, pos)?)),
            BinOp::NotEq => Ok(match self.equal(&a, &b, pos)? {
                Ok(x) => Value::Bool(!x),
                Err(u) => Value::Unknown(u),
            }),
            BinOp::Less => Ok(tri(self.less_than(&a, &b, pos)?)),
            BinOp::More => Ok(tri(self.less_than(&b, &a, pos)?)),
            BinOp::LessEq => Ok(match self.less_than(&b, &a, pos)? {
                Ok(x) => Value::Bool(!x),
                Err(u) => Value::Unknown(u),
            }),
            BinOp::MoreEq => Ok(match self.less_than(&a, &b, pos)? {
                Ok(x) => Value::Bool(!x),
                Err(u) => Value::Unknown(u),
            }),
            BinOp::Update => match (&a, &b) {
                (Value::Attrs(x), Value::Attrs(y)) => {
                    if x.is_empty() {
                        Ok(b.clone())
                    } else if y.is_empty() {
                        Ok(a.clone())
                    } else {
                        Ok(Value::attrs(x.update(y)))
                    }
                }
                (Value::Attrs(_), other) | (other, _) => Err(EvalError::eval(
                    format!("value is {} while a set was expected", other.describe()),
                    pos,
                )),
            },
            BinOp::Concat => match (&a, &b) {
                (Value::List(x), Value::List(y)) => {
                    let mut v = Vec::with_capacity(x.len() + y.len());
                    v.extend(x.iter().cloned());
                    v.extend(y.iter().cloned());
                    Ok(Value::list(v))
                }
                (Value::List(_), other) | (other, _) => Err(EvalError::eval(
                    format!("value is {} while a list was expected", other.describe()),
                    pos,
                )),
            },
            BinOp::Add => match (&a, &b) {
                (Value::Int(x), Value::Int(y)) => Ok(Value::Int(x.wrapping_add(*y))),
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                    Ok(Value::Float(as_float(&a) + as_float(&b)))
                }
                (Value::Path(p), _) => {
                    let s = match self.coerce_to_string(
                        b.clone(),
                        pos.unwrap_or_else(dummy_pos),
                        false,
                        false,
                    )? {
                        Coerced::Str(s, _) => s,
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    };
                    Ok(Value::Path(canon_path(&format!("{p}{s}")).into()))
                }
                (Value::String(s), _) => {
                    let (t, c) = match self.coerce_to_string(
                        b.clone(),
                        pos.unwrap_or_else(dummy_pos),
                        false,
                        true,
                    )? {
                        Coerced::Str(t, c) => (t, c),
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    };
                    Ok(Value::string_with(
                        format!("{}{t}", s.text()),
                        s.context || c,
                    ))
                }
                (Value::Int(_) | Value::Float(_), Value::String(_)) => Err(EvalError::eval(
                    format!("cannot add {} to {}", b.describe(), a.describe()),
                    pos,
                )),
                _ => {
                    // Anything else concatenates as strings when the left side coerces. Nix
                    // copies paths to the store only when the left side is a string, so
                    // `{ outPath = ./x; } + "/y"` is the string of the path, not copied.
                    let (s, c) = match self.coerce_to_string(
                        a.clone(),
                        pos.unwrap_or_else(dummy_pos),
                        false,
                        false,
                    )? {
                        Coerced::Str(t, c) => (t, c),
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    };
                    let (t, d) = match self.coerce_to_string(
                        b.clone(),
                        pos.unwrap_or_else(dummy_pos),
                        false,
                        false,
                    )? {
                        Coerced::Str(t, c) => (t, c),
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    };
                    Ok(Value::string_with(format!("{s}{t}"), c || d))
                }
            },
            BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let name = match op {
                    BinOp::Sub => "sub",
                    BinOp::Mul => "mul",
                    _ => "div",
                };
                self.arith(name, &a, &b, pos)
            }
            BinOp::And | BinOp::Or | BinOp::Implication => Err(EvalError::eval(
                "internal error: lazy operator applied to values",
                pos,
            )),
        }
    }

    /// `builtins.sub`/`mul`/`div` (also used by `-`, `*`, `/`).
    pub fn arith(
        &mut self,
        name: &str,
        a: &Value,
        b: &Value,
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        if let Value::Unknown(u) = a {
            return Ok(Value::Unknown(u.clone()));
        }
        if let Value::Unknown(u) = b {
            return Ok(Value::Unknown(u.clone()));
        }
        for v in [a, b] {
            if !matches!(v, Value::Int(_) | Value::Float(_)) {
                return Err(EvalError::eval(
                    format!("value is {} while an integer was expected", v.describe()),
                    pos,
                ));
            }
        }
        if name == "div" {
            let zero = match b {
                Value::Int(0) => true,
                Value::Float(f) => *f == 0.0,
                _ => false,
            };
            if zero {
                return Err(EvalError::eval("division by zero", pos));
            }
        }
        Ok(match (a, b) {
            (Value::Int(x), Value::Int(y)) => Value::Int(match name {
                "sub" => x.wrapping_sub(*y),
                "mul" => x.wrapping_mul(*y),
                _ => x.wrapping_div(*y),
            }),
            _ => {
                let (x, y) = (as_float(a), as_float(b));
                Value::Float(match name {
                    "sub" => x - y,
                    "mul" => x * y,
                    _ => x / y,
                })
            }
        })
    }

    /// Nix's `==`: deep, numbers compare across int and float, functions are never equal.
    /// `Err(unknown)` when the answer depends on an unknown value.
    pub fn equal(
        &mut self,
        a: &Value,
        b: &Value,
        pos: Option<Pos>,
    ) -> EvalResult<Result<bool, Rc<Unknown>>> {
        guarded!(self, pos, self.equal_inner(a, b, pos))
    }

    fn equal_inner(
        &mut self,
        a: &Value,
        b: &Value,
        pos: Option<Pos>,
    ) -> EvalResult<Result<bool, Rc<Unknown>>> {
        Ok(Ok(match (a, b) {
            (Value::Unknown(u), _) | (_, Value::Unknown(u)) => return Ok(Err(u.clone())),
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                as_float(a) == as_float(b)
            }
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Null, Value::Null) => true,
            (Value::String(x), Value::String(y)) => x.text() == y.text(),
            (Value::Path(x), Value::Path(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if x.len() != y.len() {
                    return Ok(Ok(false));
                }
                let mut unknown = None;
                for (p, q) in x.iter().zip(y.iter()) {
                    if Rc::ptr_eq(&p.0, &q.0) {
                        continue;
                    }
                    let p = self.force(p, pos)?;
                    let q = self.force(q, pos)?;
                    match self.equal(&p, &q, pos)? {
                        Ok(true) => {}
                        Ok(false) => return Ok(Ok(false)),
                        Err(u) => unknown = unknown.or(Some(u)),
                    }
                }
                return Ok(unknown.map_or(Ok(true), Err));
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                for set in [x, y] {
                    if let Some(u) = self.open_names(set, pos)? {
                        return Ok(Err(u));
                    }
                }
                if is_derivation(self, x, pos)?
                    && is_derivation(self, y, pos)?
                    && let (Some(p), Some(q)) =
                        (x.get("outPath").cloned(), y.get("outPath").cloned())
                {
                    let p = self.force(&p, pos)?;
                    let q = self.force(&q, pos)?;
                    return self.equal(&p, &q, pos);
                }
                if x.len() != y.len() {
                    return Ok(Ok(false));
                }
                let mut unknown = None;
                for (p, q) in x.entries.iter().zip(y.entries.iter()) {
                    if p.name != q.name {
                        return Ok(Ok(false));
                    }
                    if Rc::ptr_eq(&p.value.0, &q.value.0) {
                        continue;
                    }
                    let pv = self.force(&p.value, pos)?;
                    let qv = self.force(&q.value, pos)?;
                    match self.equal(&pv, &qv, pos)? {
                        Ok(true) => {}
                        Ok(false) => return Ok(Ok(false)),
                        Err(u) => unknown = unknown.or(Some(u)),
                    }
                }
                return Ok(unknown.map_or(Ok(true), Err));
            }
            _ => false,
        }))
    }

    /// Nix's `<`: numbers, strings, paths, and lists (lexicographically).
    pub fn less_than(
        &mut self,
        a: &Value,
        b: &Value,
        pos: Option<Pos>,
    ) -> EvalResult<Result<bool, Rc<Unknown>>> {
        guarded!(self, pos, self.less_than_inner(a, b, pos))
    }

    fn less_than_inner(
        &mut self,
        a: &Value,
        b: &Value,
        pos: Option<Pos>,
    ) -> EvalResult<Result<bool, Rc<Unknown>>> {
        Ok(Ok(match (a, b) {
            (Value::Unknown(u), _) | (_, Value::Unknown(u)) => return Ok(Err(u.clone())),
            (Value::Int(x), Value::Int(y)) => x < y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                as_float(a) < as_float(b)
            }
            (Value::String(x), Value::String(y)) => x.text() < y.text(),
            (Value::Path(x), Value::Path(y)) => x < y,
            (Value::List(x), Value::List(y)) => {
                for (p, q) in x.iter().zip(y.iter()) {
                    let p = self.force(p, pos)?;
                    let q = self.force(q, pos)?;
                    match self.equal(&p, &q, pos)? {
                        Ok(true) => continue,
                        Ok(false) => return self.less_than(&p, &q, pos),
                        Err(u) => return Ok(Err(u)),
                    }
                }
                x.len() < y.len()
            }
            _ => {
                return Err(EvalError::eval(
                    format!("cannot compare {} with {}", a.describe(), b.describe()),
                    pos,
                ));
            }
        }))
    }

    // ---- coercions -----------------------------------------------------------------------

    /// Coerces to a string as Nix's `coerceToString` does. `more` also accepts numbers,
    /// booleans, null and lists (`toString`); `copy` means a path would be copied to the
    /// store (interpolation), which clanc cannot do: the result is unknown then.
    pub fn coerce_to_string(
        &mut self,
        v: Value,
        pos: Pos,
        more: bool,
        copy: bool,
    ) -> EvalResult<Coerced> {
        guarded!(self, Some(pos), self.coerce_inner(v, pos, more, copy))
    }

    fn coerce_inner(&mut self, v: Value, pos: Pos, more: bool, copy: bool) -> EvalResult<Coerced> {
        match v {
            Value::String(s) => Ok(Coerced::Str(s.text().to_string(), s.context)),
            Value::Path(p) => {
                if copy {
                    Ok(Coerced::Unknown(Rc::new(Unknown::new(
                        format!("the store path of {p} (clanc does not copy paths to the store)"),
                        Some(pos),
                    ))))
                } else {
                    Ok(Coerced::Str(p.to_string(), false))
                }
            }
            Value::Attrs(a) => {
                if let Some(f) = a.get("__toString").cloned() {
                    let f = self.force(&f, Some(pos))?;
                    let r = self.apply(f, Thunk::value(Value::Attrs(a.clone())), Some(pos))?;
                    return self.coerce_to_string(r, pos, more, copy);
                }
                // A partly modelled set (an input clanc has no model of the source of, say)
                // may have a `__toString` clanc does not know, which Nix would call first:
                // the string is unknown. When its `outPath` is unknown too, that says why
                // better (a store path, say).
                if let Some(Value::Unknown(u)) = self.open_rest(&a, "__toString", pos)? {
                    if let Some(o) = a.get("outPath").cloned()
                        && let Ok(o) = self.force(&o, Some(pos))
                        && let Ok(Coerced::Unknown(why)) = self.coerce_to_string(o, pos, more, copy)
                    {
                        return Ok(Coerced::Unknown(why));
                    }
                    return Ok(Coerced::Unknown(u));
                }
                if let Some(o) = a.get("outPath").cloned() {
                    let o = self.force(&o, Some(pos))?;
                    return self.coerce_to_string(o, pos, more, copy);
                }
                Err(EvalError::eval(
                    "cannot coerce a set to a string",
                    Some(pos),
                ))
            }
            Value::Unknown(u) => Ok(Coerced::Unknown(u)),
            Value::Int(i) if more => Ok(Coerced::Str(i.to_string(), false)),
            Value::Float(f) if more => {
                // C's `%f`, as `std::to_string` prints it (NaN keeps its sign).
                let text = if f.is_nan() {
                    if f.is_sign_negative() { "-nan" } else { "nan" }.to_string()
                } else {
                    format!("{f:.6}")
                };
                Ok(Coerced::Str(text, false))
            }
            Value::Bool(b) if more => Ok(Coerced::Str(
                if b { "1".into() } else { String::new() },
                false,
            )),
            Value::Null if more => Ok(Coerced::Str(String::new(), false)),
            Value::List(items) if more => {
                let mut out = String::new();
                let mut context = false;
                for (i, item) in items.iter().enumerate() {
                    let v = self.force(item, Some(pos))?;
                    let is_empty_list = matches!(&v, Value::List(l) if l.is_empty());
                    match self.coerce_to_string(v, pos, more, copy)? {
                        Coerced::Str(s, c) => {
                            out.push_str(&s);
                            context |= c;
                        }
                        Coerced::Unknown(u) => return Ok(Coerced::Unknown(u)),
                    }
                    if i + 1 < items.len() && !is_empty_list {
                        out.push(' ');
                    }
                }
                Ok(Coerced::Str(out, context))
            }
            other => Err(EvalError::eval(
                format!("cannot coerce {} to a string", other.describe()),
                Some(pos),
            )),
        }
    }

    /// Forces a value and everything inside it (for `--strict`, `deepSeq`).
    pub fn deep_force(&mut self, v: &Value, pos: Option<Pos>) -> EvalResult<()> {
        guarded!(self, pos, {
            match v {
                Value::List(items) => {
                    for t in items.iter() {
                        let v = self.force(t, pos)?;
                        self.deep_force(&v, pos)?;
                    }
                    Ok(())
                }
                Value::Attrs(a) => {
                    for attr in &a.entries {
                        let v = self.force(&attr.value, pos)?;
                        self.deep_force(&v, attr.pos.or(pos)).map_err(|mut e| {
                            if let Some(p) = attr.pos {
                                e.push_trace(
                                    p,
                                    format!("while evaluating the attribute '{}'", attr.name),
                                );
                            }
                            e
                        })?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        })
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

fn is_derivation(ev: &mut Evaluator, a: &Attrs, pos: Option<Pos>) -> EvalResult<bool> {
    match a.get("type").cloned() {
        Some(t) => match ev.force(&t, pos)? {
            Value::String(s) => Ok(s.text() == "derivation"),
            _ => Ok(false),
        },
        None => Ok(false),
    }
}

fn tri(r: Result<bool, Rc<Unknown>>) -> Value {
    match r {
        Ok(b) => Value::Bool(b),
        Err(u) => Value::Unknown(u),
    }
}

fn as_float(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn dummy_pos() -> Pos {
    Pos {
        file: FileId(0),
        range: TextRange::empty(0.into()),
    }
}

/// The result of coercing to a string: the text and whether it has context, or unknown.
pub enum Coerced {
    Str(String, bool),
    Unknown(Rc<Unknown>),
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

/// A position for errors that have none better.
pub fn no_pos() -> Pos {
    dummy_pos()
}
