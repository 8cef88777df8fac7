//! Runtime values. Everything is reference counted and cheap to clone; attribute sets are
//! kept sorted by name (Nix's order for `attrNames` and printing).

use std::cell::Cell;
use std::rc::Rc;

use super::Pos;
use super::builtins::PrimOp;
use super::error::EvalResult;
use super::evaluator::Evaluator;
use super::ir::{ExprId, LambdaExpr, Module};
use super::thunk::{Env, Thunk};
use super::unknown::Unknown;

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Rc<NixString>),
    /// An absolute, canonical path.
    Path(Rc<str>),
    List(Rc<[Thunk]>),
    Attrs(Rc<Attrs>),
    Lambda(Rc<Closure>),
    PrimOp(Rc<PrimOpApp>),
    Unknown(Rc<Unknown>),
}

/// A string and whether it refers to store paths (its "context"); clanc does not track
/// which paths, only that there are some.
///
/// A string that is the value of a string literal also knows that literal, and notes when
/// its text is read ([`NixString::text`]): a string passed around but never read can only
/// change what the evaluation computed where it was copied out verbatim
/// ([`NixString::copy_out`]), so an edit of the literal can be applied to such copies instead
/// of evaluating everything again.
#[derive(Clone)]
pub struct NixString {
    text: String,
    pub context: bool,
    literal: Option<Rc<LiteralMark>>,
}

/// A string or number literal of the evaluated code, shared by every value made from it
/// (strings hold it, numbers are held with it by their thunk: `ThunkState::Literal`), and
/// whether any of them was read.
#[derive(Debug)]
pub struct LiteralMark {
    /// Where the literal expression is (quotes included).
    pub pos: Pos,
    read: Cell<bool>,
}

impl LiteralMark {
    pub fn new(pos: Pos) -> LiteralMark {
        LiteralMark {
            pos,
            read: Cell::new(false),
        }
    }

    /// Whether the value made from the literal was read.
    pub fn was_read(&self) -> bool {
        self.read.get()
    }

    pub fn note_read(&self) {
        self.read.set(true);
    }
}

impl NixString {
    pub fn new(text: String, context: bool) -> NixString {
        built(text.len());
        NixString {
            text,
            context,
            literal: None,
        }
    }

    /// The value of the string literal `mark`.
    pub fn literal(text: String, mark: Rc<LiteralMark>) -> NixString {
        NixString {
            text,
            context: false,
            literal: Some(mark),
        }
    }

    /// The text, noting that it was read: whatever is computed from it depends on it.
    pub fn text(&self) -> &str {
        if let Some(mark) = &self.literal {
            mark.read.set(true);
        }
        &self.text
    }

    /// The text, copied out of the evaluation verbatim, and the literal it is the value of:
    /// the caller keeps that literal with the copy (an edit of the literal then changes only
    /// the copy), or must call [`NixString::text`] instead.
    pub fn copy_out(&self) -> (String, Option<Pos>) {
        (self.text.clone(), self.literal.as_ref().map(|m| m.pos))
    }
}

impl std::fmt::Debug for NixString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NixString")
            .field("text", &self.text())
            .field("context", &self.context)
            .finish()
    }
}

impl PartialEq for NixString {
    fn eq(&self, other: &NixString) -> bool {
        self.context == other.context && self.text() == other.text()
    }
}

impl Eq for NixString {}

#[derive(Debug)]
pub struct Closure {
    pub module: Rc<Module>,
    pub lambda: std::sync::Arc<LambdaExpr>,
    pub id: ExprId,
    pub env: Rc<Env>,
}

/// A builtin applied to fewer arguments than it takes.
#[derive(Debug)]
pub struct PrimOpApp {
    pub op: Op,
    pub args: Vec<Thunk>,
}

/// A function implemented in Rust: one of the builtins, or one the embedder supplies (the
/// module system's `evalModules`, flake-parts' `mkFlake`, ...).
#[derive(Clone, Debug)]
pub enum Op {
    Builtin(&'static PrimOp),
    Host(Rc<HostOp>),
}

/// The body of a host function: called once all arguments are there, unforced.
pub type HostFn = dyn Fn(&mut Evaluator<'_>, &[Thunk], Option<Pos>) -> EvalResult<Value>;

/// A function the embedder adds to the language (the evaluator itself knows nothing of it).
pub struct HostOp {
    pub name: String,
    pub arity: usize,
    pub func: Box<HostFn>,
}

impl std::fmt::Debug for HostOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<host function {}>", self.name)
    }
}

impl Op {
    pub fn name(&self) -> &str {
        match self {
            Op::Builtin(op) => op.name,
            Op::Host(op) => &op.name,
        }
    }

    pub fn arity(&self) -> usize {
        match self {
            Op::Builtin(op) => op.arity,
            Op::Host(op) => op.arity,
        }
    }
}

impl Value {
    /// The names a function's argument pattern lists (`{ a, b ? 1, ... }:`); `None` for
    /// other values and for `x: ...`.
    pub fn formal_names(&self) -> Option<Vec<std::sync::Arc<str>>> {
        match self {
            Value::Lambda(closure) => match &closure.lambda.param {
                super::ir::Param::Formals { formals, .. } => {
                    Some(formals.iter().map(|f| f.name.clone()).collect())
                }
                super::ir::Param::Ident(_) => None,
            },
            _ => None,
        }
    }

    /// A host function as a value.
    pub fn host(
        name: impl Into<String>,
        arity: usize,
        func: impl Fn(&mut Evaluator<'_>, &[Thunk], Option<Pos>) -> EvalResult<Value> + 'static,
    ) -> Value {
        Value::PrimOp(Rc::new(PrimOpApp {
            op: Op::Host(Rc::new(HostOp {
                name: name.into(),
                arity,
                func: Box::new(func),
            })),
            args: Vec::new(),
        }))
    }
}

/// An attribute name. Shared with the IR, which salsa keeps, hence `Arc`.
pub type Name = std::sync::Arc<str>;

#[derive(Clone, Debug)]
pub struct Attr {
    pub name: Name,
    pub value: Thunk,
    pub pos: Option<Pos>,
}

/// An attribute set: sorted by name, no duplicates.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    pub entries: Vec<Attr>,
}

/// The order of attribute names (`str`'s, byte by byte), deciding on the first byte where it
/// can: most names of a set differ there, and comparing the rest is a call to `memcmp`.
#[inline]
fn name_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

impl Attrs {
    pub fn get(&self, name: &str) -> Option<&Thunk> {
        self.find(name).map(|a| &a.value)
    }

    pub fn find(&self, name: &str) -> Option<&Attr> {
        self.entries
            .binary_search_by(|a| name_order(&a.name, name))
            .ok()
            .map(|i| &self.entries[i])
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Builds a set from entries in any order; for a repeated name the first one wins.
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries.dedup_by(|later, earlier| later.name == earlier.name);
        Attrs { entries }
    }

    /// `self // other`: other's attributes win.
    pub fn update(&self, other: &Attrs) -> Attrs {
        let mut out = Vec::with_capacity(self.len() + other.len());
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.entries, &other.entries);
        while i < a.len() && j < b.len() {
            match a[i].name.cmp(&b[j].name) {
                std::cmp::Ordering::Less => {
                    out.push(a[i].clone());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j].clone());
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(b[j].clone());
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        Attrs { entries: out }
    }
}

thread_local! {
    /// Bytes of values built on this thread: strings' text, lists' and sets' entries.
    static BUILT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Bytes of values built on this thread so far (never decreases): an evaluator's budget is
/// the difference from where it started.
pub fn bytes_built() -> u64 {
    BUILT.with(|b| b.get())
}

/// Counts `bytes` of values built on this thread.
pub fn count_built(bytes: usize) {
    built(bytes);
}

fn built(bytes: usize) {
    BUILT.with(|b| b.set(b.get().saturating_add(bytes as u64)));
}

impl Value {
    pub fn string(text: impl Into<String>) -> Value {
        let text = text.into();
        built(text.len());
        Value::String(Rc::new(NixString {
            text,
            context: false,
            literal: None,
        }))
    }

    pub fn string_with(text: impl Into<String>, context: bool) -> Value {
        Value::String(Rc::new(NixString::new(text.into(), context)))
    }

    pub fn attrs(attrs: Attrs) -> Value {
        built(attrs.len() * std::mem::size_of::<Attr>());
        Value::Attrs(Rc::new(attrs))
    }

    pub fn list(items: Vec<Thunk>) -> Value {
        built(items.len() * std::mem::size_of::<Thunk>());
        Value::List(items.into())
    }

    /// The name `builtins.typeOf` gives.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Path(_) => "path",
            Value::List(_) => "list",
            Value::Attrs(_) => "set",
            Value::Lambda(_) | Value::PrimOp(_) => "lambda",
            Value::Unknown(_) => "unknown",
        }
    }

    /// The words Nix's error messages use for a value's type ("a string", "an integer").
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Path(_) => "a path",
            Value::List(_) => "a list",
            Value::Attrs(_) => "a set",
            Value::Lambda(_) => "a function",
            Value::PrimOp(_) => "a built-in function",
            Value::Unknown(_) => "an unknown value",
        }
    }
}
