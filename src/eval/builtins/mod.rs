//! The builtins: the `builtins` set, the base scope (`map`, `true`, `import`, ...), and
//! the argument helpers every builtin uses. One file per family of builtins.

mod attrs;
mod control;
mod io;
mod lists;
mod numbers;
mod regex;
mod serial;
mod strings;
pub(crate) use strings::nix_base32;
mod types;
mod unknowable;
mod versions;

use std::collections::HashMap;
use std::rc::Rc;

use super::Pos;
use super::error::{EvalError, EvalResult};
use super::evaluator::{Coerced, Evaluator};
use super::thunk::Thunk;
use super::unknown::Unknown;
use super::value::{Attr, Attrs, Value};

/// A builtin function: its name, how many arguments it takes, and its implementation
/// (called once all arguments are there, unforced).
pub struct PrimOp {
    pub name: &'static str,
    pub arity: usize,
    pub func: fn(&mut Evaluator, &[Thunk], Option<Pos>) -> EvalResult<Value>,
}

impl std::fmt::Debug for PrimOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<primop {}>", self.name)
    }
}

/// Returns early with the unknown when a helper met one.
macro_rules! known {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(u) => return Ok(Value::Unknown(u)),
        }
    };
}
pub(crate) use known;

pub(super) type Known<T> = Result<T, Rc<Unknown>>;

static PRIMOPS: &[&[PrimOp]] = &[
    attrs::PRIMOPS,
    control::PRIMOPS,
    io::PRIMOPS,
    lists::PRIMOPS,
    numbers::PRIMOPS,
    regex::PRIMOPS,
    serial::PRIMOPS,
    strings::PRIMOPS,
    types::PRIMOPS,
    unknowable::PRIMOPS,
    versions::PRIMOPS,
];

/// Builtins that are also bound without the `builtins.` prefix.
const TOP_LEVEL: &[&str] = &[
    "abort",
    "baseNameOf",
    "break",
    "derivation",
    "dirOf",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "placeholder",
    "removeAttrs",
    "throw",
    "toString",
];

/// Whether the base scope binds `name` (for lowering, which resolves variables statically).
pub fn is_global(name: &str) -> bool {
    const CONSTANTS: &[&str] = &[
        "true",
        "false",
        "null",
        "nixVersion",
        "langVersion",
        "storeDir",
    ];
    if name == "builtins" || TOP_LEVEL.contains(&name) || ["true", "false", "null"].contains(&name)
    {
        return true;
    }
    let Some(inner) = name.strip_prefix("__") else {
        return false;
    };
    inner == "builtins"
        || CONSTANTS.contains(&inner)
        || unknowable::CONSTANTS.iter().any(|(n, _)| *n == inner)
        || PRIMOPS
            .iter()
            .any(|group| group.iter().any(|op| op.name == inner))
}

/// The `builtins` set and the base scope.
pub fn base_scope() -> (Rc<Attrs>, HashMap<Rc<str>, Thunk>) {
    let mut entries: Vec<Attr> = Vec::new();
    let mut add = |name: &str, v: Value| {
        entries.push(Attr {
            name: name.into(),
            value: Thunk::value(v),
            pos: None,
        })
    };
    for group in PRIMOPS {
        for op in group.iter() {
            add(
                op.name,
                Value::PrimOp(Rc::new(super::value::PrimOpApp {
                    op: super::value::Op::Builtin(op),
                    args: Vec::new(),
                })),
            );
        }
    }
    add("true", Value::Bool(true));
    add("false", Value::Bool(false));
    add("null", Value::Null);
    add("nixVersion", Value::string("2.8.0"));
    add("langVersion", Value::Int(6));
    add("storeDir", Value::string("/nix/store"));
    for (name, reason) in unknowable::CONSTANTS {
        add(name, Value::Unknown(Rc::new(Unknown::new(*reason, None))));
    }
    let attrs = Rc::new(Attrs::from_unsorted(entries));
    let builtins_thunk = Thunk::value(Value::Attrs(attrs.clone()));
    let mut globals: HashMap<Rc<str>, Thunk> = HashMap::new();
    for attr in &attrs.entries {
        globals.insert(format!("__{}", attr.name).into(), attr.value.clone());
    }
    for name in TOP_LEVEL.iter().chain(["true", "false", "null"].iter()) {
        if let Some(t) = attrs.get(name) {
            globals.insert((*name).into(), t.clone());
        }
    }
    // `builtins.builtins` refers to the set itself, as in Nix.
    let mut with_self = (*attrs).clone();
    let at = with_self.entries.partition_point(|a| &*a.name < "builtins");
    with_self.entries.insert(
        at,
        Attr {
            name: "builtins".into(),
            value: builtins_thunk.clone(),
            pos: None,
        },
    );
    let attrs = Rc::new(with_self);
    builtins_thunk.set(super::thunk::ThunkState::Done(Value::Attrs(attrs.clone())));
    globals.insert("builtins".into(), builtins_thunk);
    (attrs, globals)
}

fn type_error(expected: &str, got: &Value, pos: Option<Pos>) -> Box<EvalError> {
    EvalError::eval(
        format!("value is {} while {expected} was expected", got.describe()),
        pos,
    )
}

/// Argument helpers: force a thunk and check its type; an unknown comes back as `Err`.
impl Evaluator<'_> {
    pub(super) fn want_int(&mut self, t: &Thunk, pos: Option<Pos>) -> EvalResult<Known<i64>> {
        match self.force(t, pos)? {
            Value::Int(i) => Ok(Ok(i)),
            Value::Unknown(u) => Ok(Err(u)),
            other => Err(type_error("an integer", &other, pos)),
        }
    }

    /// A string (not coerced): its text and whether it has context.
    pub(super) fn want_string(
        &mut self,
        t: &Thunk,
        pos: Option<Pos>,
    ) -> EvalResult<Known<(String, bool)>> {
        match self.force(t, pos)? {
            Value::String(s) => Ok(Ok((s.text().to_string(), s.context))),
            Value::Unknown(u) => Ok(Err(u)),
            other => Err(type_error("a string", &other, pos)),
        }
    }

    pub(super) fn want_list(
        &mut self,
        t: &Thunk,
        pos: Option<Pos>,
    ) -> EvalResult<Known<Rc<[Thunk]>>> {
        match self.force(t, pos)? {
            Value::List(l) => Ok(Ok(l)),
            Value::Unknown(u) => Ok(Err(u)),
            other => Err(type_error("a list", &other, pos)),
        }
    }

    pub(super) fn want_attrs(
        &mut self,
        t: &Thunk,
        pos: Option<Pos>,
    ) -> EvalResult<Known<Rc<Attrs>>> {
        match self.force(t, pos)? {
            Value::Attrs(a) => Ok(Ok(a)),
            Value::Unknown(u) => Ok(Err(u)),
            other => Err(type_error("a set", &other, pos)),
        }
    }

    pub(super) fn want_function(
        &mut self,
        t: &Thunk,
        pos: Option<Pos>,
    ) -> EvalResult<Known<Value>> {
        match self.force(t, pos)? {
            v @ (Value::Lambda(_) | Value::PrimOp(_)) => Ok(Ok(v)),
            Value::Attrs(a) if a.get("__functor").is_some() => Ok(Ok(Value::Attrs(a))),
            Value::Unknown(u) => Ok(Err(u)),
            other => Err(type_error("a function", &other, pos)),
        }
    }

    /// Coerces an argument to a string (see `coerce_to_string`).
    pub(super) fn want_coerced(
        &mut self,
        t: &Thunk,
        pos: Option<Pos>,
        more: bool,
        copy: bool,
    ) -> EvalResult<Known<(String, bool)>> {
        let v = self.force(t, pos)?;
        match self.coerce_to_string(v, pos.unwrap_or_else(super::evaluator::no_pos), more, copy)? {
            Coerced::Str(s, c) => Ok(Ok((s, c))),
            Coerced::Unknown(u) => Ok(Err(u)),
        }
    }

    /// A path argument (a path, or a string holding an absolute path), canonical.
    pub(super) fn want_path(&mut self, t: &Thunk, pos: Option<Pos>) -> EvalResult<Known<String>> {
        let (s, _) = match self.want_coerced(t, pos, false, false)? {
            Ok(s) => s,
            Err(u) => return Ok(Err(u)),
        };
        if !s.starts_with('/') {
            return Err(EvalError::eval(
                format!("string '{s}' doesn't represent an absolute path"),
                pos,
            ));
        }
        Ok(Ok(super::evaluator::canon_path(&s)))
    }

    pub(super) fn call_thunks(
        &mut self,
        f: &Value,
        args: &[Thunk],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        self.apply_many(f.clone(), args, pos)
    }
}

/// A set from names and values (names may come in any order).
pub(super) fn make_attrs(pairs: Vec<(&str, Value)>) -> Value {
    Value::attrs(Attrs::from_unsorted(
        pairs
            .into_iter()
            .map(|(n, v)| Attr {
                name: n.into(),
                value: Thunk::value(v),
                pos: None,
            })
            .collect(),
    ))
}
