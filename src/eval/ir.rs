//! The evaluator's intermediate representation: one arena of expressions per file, with
//! variables already resolved to frames and attrpaths already merged. Positions live in a
//! separate `SourceMap` so the IR itself says nothing about where text sits.

use std::cell::Cell;
use std::sync::Arc;

use rnix::TextRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

/// A file's lowered expressions, the root, and the errors lowering found (undefined
/// variables, duplicate attributes, syntax errors). Nix rejects a file with any of these
/// before evaluating it, so `import` does too. It depends only on the file's path and text,
/// so salsa memoises it (`lower_file`).
#[derive(Debug)]
pub struct Lowered {
    pub exprs: Vec<Expr>,
    pub root: ExprId,
    pub errors: Vec<LowerError>,
    /// The file's syntax errors, as its parse found them (lowering a file keeps no tree:
    /// what asks for these need not parse it again). Empty for IR lowered from a tree.
    pub syntax_errors: Vec<crate::syntax::SyntaxError>,
    pub source_map: SourceMap,
    pub written: WrittenAt,
}

/// Where values are written in the file, as its syntax says, for what points at a value
/// from the name bound to it (diagnostics about a setting, a tag): the value of every
/// binding by the position of its last name (`c` of `a.b.c = v;`; not an `inherit`), and
/// the elements of every list by the position of the list (or of parentheses around it).
/// Kept with the IR so that no syntax tree has to be kept or built again to answer.
#[derive(Debug, Default)]
pub struct WrittenAt {
    /// (last name, value), sorted.
    pub(super) values: Box<[(TextRange, TextRange)]>,
    /// (list, its elements), sorted.
    pub(super) lists: Box<[(TextRange, Box<[TextRange]>)]>,
}

fn sort_key(range: TextRange) -> (u32, u32) {
    (range.start().into(), range.end().into())
}

impl WrittenAt {
    pub(super) fn new(
        mut values: Vec<(TextRange, TextRange)>,
        mut lists: Vec<(TextRange, Box<[TextRange]>)>,
    ) -> WrittenAt {
        values.sort_unstable_by_key(|(k, _)| sort_key(*k));
        lists.sort_unstable_by_key(|(l, _)| sort_key(*l));
        WrittenAt {
            values: values.into(),
            lists: lists.into(),
        }
    }

    /// The value bound to the name written at `key` when that is the last name of a
    /// binding's attrpath (`None` for any other name, or an `inherit`ed one).
    pub fn value_of_key(&self, key: TextRange) -> Option<TextRange> {
        let i = (self.values)
            .binary_search_by_key(&sort_key(key), |(k, _)| sort_key(*k))
            .ok()?;
        Some(self.values[i].1)
    }

    /// The elements of the list written at `list` (or in parentheses at `list`).
    pub fn list_elements(&self, list: TextRange) -> Option<&[TextRange]> {
        let i = (self.lists)
            .binary_search_by_key(&sort_key(list), |(l, _)| sort_key(*l))
            .ok()?;
        Some(&self.lists[i].1)
    }
}

impl Lowered {
    pub fn expr(&self, id: ExprId) -> &Expr {
        &self.exprs[id.0 as usize]
    }

    /// Whether the innermost expression covering `range` is a literal string (with or
    /// without interpolations), a number, or a `true`/`false` the code does not bind: then
    /// the text in `range` is part of that literal's value (for `true`/`false` the caller
    /// still has to rule out a name an `inherit` lists).
    pub fn is_literal_at(&self, range: TextRange) -> bool {
        self.innermost_at(range).is_some_and(|(_, e)| {
            matches!(
                e,
                Expr::Str(_) | Expr::Interp(_) | Expr::Int(_) | Expr::Float(_)
            ) || Expr::boolean(e).is_some()
        })
    }

    /// When the innermost expression covering `range` is a number, a `true`/`false` the code
    /// does not bind, or a string literal without interpolations: its range (quotes
    /// included) and its value.
    pub fn literal_value_at(&self, range: TextRange) -> Option<(TextRange, LiteralValue)> {
        let (r, expr) = self.innermost_at(range)?;
        let value = match expr {
            Expr::Str(text) => LiteralValue::String(text.to_string()),
            Expr::Int(i) => LiteralValue::Int(*i),
            Expr::Float(f) => LiteralValue::Float(*f),
            other => LiteralValue::Bool(Expr::boolean(other)?),
        };
        Some((r, value))
    }

    fn innermost_at(&self, range: TextRange) -> Option<(TextRange, &Expr)> {
        let (i, r) = self
            .source_map
            .ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| r.contains_range(range))
            .min_by_key(|(_, r)| r.len())?;
        Some((*r, self.exprs.get(i)?))
    }
}

/// The value of a literal expression.
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralValue {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A lowered file as one evaluator sees it: the shared IR plus the evaluator's id for the
/// file (which positions refer to), and which of its expressions this evaluation entered.
#[derive(Debug)]
pub struct Module {
    pub lowered: Arc<Lowered>,
    pub file: crate::eval::FileId,
    /// The directory relative path literals (`./x.nix`) resolve against. It is not part of
    /// the lowered IR, so the same IR serves a file whatever path it is imported by.
    pub dir: Arc<str>,
    /// A bit per expression: whether the evaluation entered it (see [`Module::enter`]).
    entered: Box<[Cell<u64>]>,
}

impl Module {
    pub fn new(lowered: Arc<Lowered>, file: crate::eval::FileId, dir: Arc<str>) -> Module {
        let entered = vec![Cell::new(0); lowered.exprs.len().div_ceil(64)].into_boxed_slice();
        Module {
            lowered,
            file,
            dir,
            entered,
        }
    }

    /// Notes that the evaluation looked at `expr` itself: evaluated it, or took its value or
    /// variable without a thunk of its own. An expression never entered is one whose code
    /// could be anything: the evaluation only ever held an unforced thunk of it, or nothing
    /// (its parent was never entered). Only `eval_inner`, `thunk_of` and `initial_state` look
    /// at expressions, and each enters the one it looks at.
    pub fn enter(&self, expr: ExprId) {
        let i = expr.0 as usize;
        if let Some(word) = self.entered.get(i / 64) {
            word.set(word.get() | 1 << (i % 64));
        }
    }

    /// What [`Module::enter`] noted, a bit per expression.
    pub fn entered(&self) -> Vec<u64> {
        self.entered.iter().map(Cell::get).collect()
    }
}

impl std::ops::Deref for Module {
    type Target = Lowered;

    fn deref(&self) -> &Lowered {
        &self.lowered
    }
}

/// The text range of each expression, indexed like `Module::exprs`.
#[derive(Debug, Default)]
pub struct SourceMap {
    pub ranges: Vec<TextRange>,
}

impl SourceMap {
    pub fn range(&self, id: ExprId) -> TextRange {
        self.ranges
            .get(id.0 as usize)
            .copied()
            .unwrap_or_else(|| TextRange::empty(0.into()))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LowerError {
    pub message: String,
    pub range: TextRange,
    /// The earlier definition, for duplicate attributes.
    pub previous: Option<TextRange>,
}

#[derive(Clone, Debug)]
pub enum Part {
    Lit(Arc<str>),
    Expr(ExprId),
}

#[derive(Clone, Debug)]
pub enum AttrKey {
    Static(Arc<str>),
    Dynamic(ExprId),
}

/// How a variable is found at run time.
#[derive(Clone, Debug)]
pub enum Var {
    /// `up` frames out from the current one, slot `slot`.
    Local { up: u32, slot: u32 },
    /// A builtin of the base scope (`map`, `true`, `builtins`, ...).
    Global(Arc<str>),
    /// Not bound statically: searched in the enclosing `with` scopes, innermost first.
    With(Arc<str>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Concat,
    Update,
    Add,
    Sub,
    Mul,
    Div,
    And,
    Or,
    Implication,
    Eq,
    NotEq,
    Less,
    LessEq,
    More,
    MoreEq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Negate,
}

/// One attribute of a literal set. `in_outer` marks `inherit x;` in a `rec` set, whose
/// value is looked up outside the set's own frame.
#[derive(Clone, Debug)]
pub struct AttrDef {
    pub name: Arc<str>,
    pub value: ExprId,
    pub range: TextRange,
}

#[derive(Clone, Debug)]
pub struct AttrsExpr {
    /// Whether the set's values see its own attributes (`rec`); then the set pushes a frame
    /// with one slot per static attribute, in `attrs` order.
    pub rec: bool,
    /// Sorted by name, no duplicates.
    pub attrs: Box<[AttrDef]>,
    pub dynamic: Box<[(ExprId, ExprId)]>,
}

#[derive(Clone, Debug)]
pub struct Formal {
    pub name: Arc<str>,
    pub default: Option<ExprId>,
}

#[derive(Clone, Debug)]
pub enum Param {
    /// `x: body`: one slot.
    Ident(Arc<str>),
    /// `{ a, b ? 1, ... } @ all: body`: one slot per formal (in this order), then one for
    /// the `@` binding if any.
    Formals {
        formals: Box<[Formal]>,
        ellipsis: bool,
        bind: Option<Arc<str>>,
    },
}

#[derive(Clone, Debug)]
pub struct LambdaExpr {
    pub param: Param,
    pub body: ExprId,
}

#[derive(Clone, Debug)]
pub enum Expr {
    /// Stands for text that did not parse or lower; evaluating it is an error.
    Error,
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Interp(Box<[Part]>),
    /// A path literal; `parts` concatenated give an absolute path (or one under `~`).
    Path {
        home: bool,
        /// Written relative (`./x`): the module's directory comes first.
        relative: bool,
        parts: Box<[Part]>,
    },
    SearchPath(Arc<str>),
    /// `__curPos`: the position of this expression as a set.
    CurPos,
    Var(Var),
    Select {
        expr: ExprId,
        path: Box<[AttrKey]>,
        default: Option<ExprId>,
    },
    HasAttr {
        expr: ExprId,
        path: Box<[AttrKey]>,
    },
    Attrs(Arc<AttrsExpr>),
    List(Arc<[ExprId]>),
    Lambda(Arc<LambdaExpr>),
    Apply {
        func: ExprId,
        arg: ExprId,
    },
    /// Pushes a frame with one slot per binding.
    Let {
        bindings: Arc<[ExprId]>,
        body: ExprId,
    },
    /// Pushes a frame whose one slot holds the namespace.
    With {
        namespace: ExprId,
        body: ExprId,
    },
    If {
        cond: ExprId,
        then: ExprId,
        else_: ExprId,
    },
    Assert {
        cond: ExprId,
        body: ExprId,
    },
    Unary(UnOp, ExprId),
    Binary(BinOp, ExprId, ExprId),
}

impl Expr {
    /// `true` or `false` not bound by the code: the constants.
    pub fn boolean(&self) -> Option<bool> {
        match self {
            Expr::Var(Var::Global(name)) => match &**name {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}
