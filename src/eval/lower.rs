//! Lowering: rnix syntax tree -> `Module` (arena IR + source map). Attrpaths are merged here
//! with Nix's rules (in two steps, as Nix's parser does: first the attribute tree is built
//! from the syntax, then its values are lowered in the scope the merged set ends up with),
//! variables are resolved to frames, strings are unescaped and indented strings stripped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, TextRange};
use rowan::NodeOrToken;
use rowan::ast::AstNode;

mod paths;

use paths::path_pieces;

use super::interned::intern;
use super::ir::*;

/// The lowered IR of a file of the database, with its syntax errors. Memoised by salsa: it
/// is recomputed only when the file's text changes, and shared by every evaluation.
/// `stack_budget` is how much stack lowering may use (`import` checks that this much is
/// left); evaluations with the same limits share the memo.
///
/// The syntax tree it is lowered from is not kept (a check would otherwise hold a tree of
/// every file to its end, as large as the IR): what needs a tree asks [`crate::db::parse`].
#[salsa::tracked(returns(ref), no_eq)]
pub fn lower_file(
    db: &dyn crate::db::Db,
    file: crate::db::SourceFile,
    stack_budget: usize,
) -> Arc<Lowered> {
    let text = file.text(db);
    let found = (db.lowered_before().and_then(|p| p.find(text, stack_budget)))
        .or_else(|| db.lowered_ahead(file.path(db), text, stack_budget));
    if let Some(lowered) = found {
        return Arc::new(lowered);
    }
    let parse = crate::db::parse_for_lowering(db, file);
    Arc::new(lower_parsed(parse, stack_budget))
}

/// Lowers a parsed file in the base scope, its syntax errors kept beside the IR.
pub fn lower_parsed(parse: crate::syntax::Parse, stack_budget: usize) -> Lowered {
    let mut lowered = lower(
        parse.root().and_then(|r| r.expr()),
        &super::builtins::is_global,
        stack_budget,
    );
    lowered.syntax_errors = parse.errors;
    lowered
}

/// The directory of an absolute file path.
pub fn dir_of(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

/// Lowers a parsed file. `is_global` says which names the base scope binds. Relative path
/// literals stay relative: the evaluator resolves them against the importing module's
/// directory, so the IR does not depend on where the file is.
pub fn lower(
    root: Option<ast::Expr>,
    is_global: &dyn Fn(&str) -> bool,
    stack_budget: usize,
) -> Lowered {
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    let mut lower = Lowerer {
        exprs: Vec::new(),
        ranges: Vec::new(),
        errors: Vec::new(),
        scopes: Vec::new(),
        values_written: Vec::new(),
        lists_written: Vec::new(),
        is_global,
        stack_floor: here.saturating_sub(stack_budget),
        too_deep: false,
    };
    let root = match root {
        Some(e) => lower.expr(e),
        None => lower.alloc(Expr::Error, TextRange::empty(0.into())),
    };
    // A file's IR lives as long as its text is current: no room kept to grow.
    lower.exprs.shrink_to_fit();
    lower.ranges.shrink_to_fit();
    Lowered {
        exprs: lower.exprs,
        root,
        errors: lower.errors,
        syntax_errors: Vec::new(),
        source_map: SourceMap {
            ranges: lower.ranges,
        },
        written: WrittenAt::new(lower.values_written, lower.lists_written),
    }
}

enum Scope {
    Names(HashMap<Arc<str>, u32>),
    With,
}

struct Lowerer<'a> {
    exprs: Vec<Expr>,
    ranges: Vec<TextRange>,
    errors: Vec<LowerError>,
    scopes: Vec<Scope>,
    /// [`WrittenAt`]'s bindings and lists, as lowering meets them.
    values_written: Vec<(TextRange, TextRange)>,
    lists_written: Vec<(TextRange, Box<[TextRange]>)>,
    is_global: &'a dyn Fn(&str) -> bool,
    /// Lowering recurses with the depth of the tree; below this stack address it stops
    /// (`1 + 1 + ... + 1` a hundred thousand times is a valid, very deep tree).
    stack_floor: usize,
    too_deep: bool,
}

/// An attribute set under construction: built from the syntax first, lowered afterwards.
struct PendingSet {
    rec: bool,
    attrs: BTreeMap<Arc<str>, PendingDef>,
    dynamic: Vec<(ast::Attr, PendingValue, TextRange)>,
}

struct PendingDef {
    value: PendingValue,
    /// The whole binding (duplicate-attribute errors point at it).
    range: TextRange,
    /// The attribute's own name in the binding (`c` of `a.b.c = 1;`): its position.
    key: TextRange,
}

enum PendingValue {
    Syntax(ast::Expr),
    Set(PendingSet, TextRange),
    /// `inherit x;`: looked up outside the set's own frame.
    Inherit(Arc<str>, TextRange),
    /// `inherit (from) x;`
    InheritFrom(ast::Expr, Arc<str>, TextRange),
}

impl PendingValue {
    fn is_set(&self) -> bool {
        matches!(self, PendingValue::Set(..))
    }
}

/// A literal attribute set behind any number of parentheses (Nix's AST has no parentheses,
/// so `a = ({ x = 1; });` merges like `a = { x = 1; };`).
fn literal_set(expr: &ast::Expr) -> Option<ast::AttrSet> {
    match expr {
        ast::Expr::AttrSet(set) => Some(set.clone()),
        ast::Expr::Paren(p) => p.expr().and_then(|e| literal_set(&e)),
        _ => None,
    }
}

enum Key {
    Static(Arc<str>),
    Dynamic(ast::Attr),
}

/// The attribute path of a binding, as an error about it shows it (written out only then).
enum Shown<'a> {
    /// The binding's own attrpath.
    Keys(&'a [ast::Attr]),
    /// An attribute of a set merged into the one defined at the parent path.
    Under(&'a Shown<'a>, Arc<str>),
}

fn range_of(node: &impl AstNode) -> TextRange {
    node.syntax().text_range()
}

impl Lowerer<'_> {
    fn alloc(&mut self, expr: Expr, range: TextRange) -> ExprId {
        let id = ExprId(self.exprs.len() as u32);
        self.exprs.push(expr);
        self.ranges.push(range);
        id
    }

    fn error(&mut self, message: impl Into<String>, range: TextRange) -> ExprId {
        self.errors.push(LowerError {
            message: message.into(),
            range,
            previous: None,
        });
        self.alloc(Expr::Error, range)
    }

    fn expr_opt(&mut self, expr: Option<ast::Expr>, parent: TextRange) -> ExprId {
        match expr {
            Some(e) => self.expr(e),
            // The parser already reported the missing piece.
            None => self.alloc(Expr::Error, parent),
        }
    }

    /// Whether the stack is nearly used up; reports it once.
    fn out_of_stack(&mut self, range: TextRange) -> bool {
        let marker = 0u8;
        let here = std::ptr::addr_of!(marker) as usize;
        if here >= self.stack_floor {
            return false;
        }
        if !self.too_deep {
            self.too_deep = true;
            self.errors.push(LowerError {
                message: "expression nested too deeply (stack overflow)".to_string(),
                range,
                previous: None,
            });
        }
        true
    }

    fn expr(&mut self, expr: ast::Expr) -> ExprId {
        let range = range_of(&expr);
        if self.out_of_stack(range) {
            return self.alloc(Expr::Error, range);
        }
        match expr {
            ast::Expr::Error(_) | ast::Expr::Root(_) => self.alloc(Expr::Error, range),
            ast::Expr::Paren(p) => self.paren(&p, range),
            ast::Expr::Literal(lit) => self.literal(lit, range),
            ast::Expr::Str(s) => {
                let parts = self.string_parts(&s);
                self.string_expr(parts, range)
            }
            ast::Expr::PathAbs(p) => {
                let parts = path_pieces(p.syntax());
                self.path(parts, range, "")
            }
            ast::Expr::PathRel(p) => self.relative_path(&p, range),
            ast::Expr::PathHome(p) => self.home_path(&p, range),
            ast::Expr::PathSearch(p) => self.search_path(&p, range),
            ast::Expr::Ident(id) => {
                let name = ident_name(&id);
                self.var(name, range, 0)
            }
            ast::Expr::Apply(a) => {
                let func = self.expr_opt(a.lambda(), range);
                let arg = self.expr_opt(a.argument(), range);
                self.alloc(Expr::Apply { func, arg }, range)
            }
            ast::Expr::Assert(a) => {
                let cond = self.expr_opt(a.condition(), range);
                let body = self.expr_opt(a.body(), range);
                self.alloc(Expr::Assert { cond, body }, range)
            }
            ast::Expr::IfElse(i) => {
                let cond = self.expr_opt(i.condition(), range);
                let then = self.expr_opt(i.body(), range);
                let else_ = self.expr_opt(i.else_body(), range);
                self.alloc(Expr::If { cond, then, else_ }, range)
            }
            ast::Expr::Select(s) => {
                let inner = self.expr_opt(s.expr(), range);
                let path = self.attrpath(s.attrpath());
                let default = s.default_expr().map(|d| self.expr(d));
                self.alloc(
                    Expr::Select {
                        expr: inner,
                        path,
                        default,
                    },
                    range,
                )
            }
            ast::Expr::HasAttr(h) => {
                let inner = self.expr_opt(h.expr(), range);
                let path = self.attrpath(h.attrpath());
                self.alloc(Expr::HasAttr { expr: inner, path }, range)
            }
            ast::Expr::List(l) => self.list(&l, range),
            ast::Expr::BinOp(b) => self.binop(&b, range),
            ast::Expr::UnaryOp(u) => {
                let op = match u.operator() {
                    Some(rnix::ast::UnaryOpKind::Invert) => UnOp::Not,
                    Some(rnix::ast::UnaryOpKind::Negate) => UnOp::Negate,
                    None => return self.alloc(Expr::Error, range),
                };
                let inner = self.expr_opt(u.expr(), range);
                self.alloc(Expr::Unary(op, inner), range)
            }
            ast::Expr::With(w) => {
                let namespace = self.expr_opt(w.namespace(), range);
                self.scopes.push(Scope::With);
                let body = self.expr_opt(w.body(), range);
                self.scopes.pop();
                self.alloc(Expr::With { namespace, body }, range)
            }
            ast::Expr::Lambda(l) => self.lambda(l, range),
            ast::Expr::AttrSet(set) => {
                let pending = self.collect_set(&set, set.rec_token().is_some(), false);
                self.lower_set(pending, range)
            }
            ast::Expr::LetIn(l) => {
                let pending = self.collect_set(&l, true, true);
                let body = l.body();
                self.lower_let(pending, body, range)
            }
            ast::Expr::LegacyLet(l) => {
                // `let { body = ...; }` is `(rec { ... }).body`.
                let pending = self.collect_set(&l, true, false);
                let set = self.lower_set(pending, range);
                self.alloc(
                    Expr::Select {
                        expr: set,
                        path: Box::new([AttrKey::Static(intern("body"))]),
                        default: None,
                    },
                    range,
                )
            }
            ast::Expr::CurPos(_) => self.alloc(Expr::CurPos, range),
        }
    }

    /// Parentheses: what they hold (a list in them is also written at their range).
    fn paren(&mut self, p: &ast::Paren, range: TextRange) -> ExprId {
        let mut inner = p.expr();
        while let Some(ast::Expr::Paren(q)) = &inner {
            inner = q.expr();
        }
        if let Some(ast::Expr::List(list)) = inner {
            let items = list.items().map(|i| range_of(&i)).collect();
            self.lists_written.push((range, items));
        }
        self.expr_opt(p.expr(), range)
    }

    /// A list literal, its elements lowered in order.
    fn list(&mut self, l: &ast::List, range: TextRange) -> ExprId {
        let mut written = Vec::new();
        let items: Vec<ExprId> = (l.items())
            .map(|e| {
                written.push(range_of(&e));
                self.expr(e)
            })
            .collect();
        self.lists_written.push((range, written.into()));
        self.alloc(Expr::List(items.into()), range)
    }

    /// A binary operator: `Binary` of its two sides, lowered left to right; the pipe operators
    /// are calls.
    fn binop(&mut self, b: &ast::BinOp, range: TextRange) -> ExprId {
        let op = match b.operator() {
            Some(op) => op,
            None => return self.alloc(Expr::Error, range),
        };
        use rnix::ast::BinOpKind as K;
        // The pipe operators (Nix 2.24's `pipe-operators`, Lix 2.91's
        // `pipe-operator`) are function application written the other way round:
        // `x |> f` is `f x` and `f <| x` is `f x`, the argument staying lazy.
        // rnix parses them as Lix does: both bind more loosely than every other
        // operator, `|>` to the left, `<|` to the right and more loosely than `|>`.
        // Nix's grammar has no rule mixing the two without parentheses (a syntax
        // error there); rnix's reading is Lix's, which clanc keeps: an error needs
        // certainty, and a clan evaluated by Lix may mix them.
        let op = match op {
            K::PipeRight => return self.pipe(b, true, range),
            K::PipeLeft => return self.pipe(b, false, range),
            K::Concat => BinOp::Concat,
            K::Update => BinOp::Update,
            K::Add => BinOp::Add,
            K::Sub => BinOp::Sub,
            K::Mul => BinOp::Mul,
            K::Div => BinOp::Div,
            K::And => BinOp::And,
            K::Or => BinOp::Or,
            K::Implication => BinOp::Implication,
            K::Equal => BinOp::Eq,
            K::NotEqual => BinOp::NotEq,
            K::Less => BinOp::Less,
            K::LessOrEq => BinOp::LessEq,
            K::More => BinOp::More,
            K::MoreOrEq => BinOp::MoreEq,
        };
        let lhs = self.expr_opt(b.lhs(), range);
        let rhs = self.expr_opt(b.rhs(), range);
        self.alloc(Expr::Binary(op, lhs, rhs), range)
    }

    /// `x |> f` (`into_right`) and `f <| x`: the call `f x`. Both sides are lowered in the
    /// order they are written.
    fn pipe(&mut self, b: &ast::BinOp, into_right: bool, range: TextRange) -> ExprId {
        let lhs = self.expr_opt(b.lhs(), range);
        let rhs = self.expr_opt(b.rhs(), range);
        let (func, arg) = if into_right { (rhs, lhs) } else { (lhs, rhs) };
        self.alloc(Expr::Apply { func, arg }, range)
    }

    fn literal(&mut self, lit: ast::Literal, range: TextRange) -> ExprId {
        let token = match lit.syntax().first_token() {
            Some(t) => t,
            None => return self.alloc(Expr::Error, range),
        };
        let text = token.text();
        match token.kind() {
            SyntaxKind::TOKEN_INTEGER => match text.parse::<i64>() {
                Ok(i) => self.alloc(Expr::Int(i), range),
                Err(_) => self.error(format!("invalid integer '{text}'"), range),
            },
            SyntaxKind::TOKEN_FLOAT => match text.parse::<f64>() {
                Ok(f) => self.alloc(Expr::Float(f), range),
                Err(_) => self.error(format!("invalid float '{text}'"), range),
            },
            SyntaxKind::TOKEN_URI => self.alloc(Expr::Str(intern(text)), range),
            _ => self.alloc(Expr::Error, range),
        }
    }

    fn var(&mut self, name: Arc<str>, range: TextRange, skip: usize) -> ExprId {
        match self.resolve(name.clone(), skip) {
            Some(var) => self.alloc(Expr::Var(var), range),
            None => self.error(format!("undefined variable '{name}'"), range),
        }
    }

    /// Finds a variable: static scopes first (skipping the innermost `skip` of them, but
    /// counting them as frames), then the base scope, then the `with` scopes at run time.
    fn resolve(&self, name: Arc<str>, skip: usize) -> Option<Var> {
        let mut has_with = false;
        for (up, scope) in self.scopes.iter().rev().enumerate() {
            match scope {
                Scope::With => has_with = true,
                Scope::Names(names) if up >= skip => {
                    if let Some(&slot) = names.get(&name) {
                        return Some(Var::Local {
                            up: up as u32,
                            slot,
                        });
                    }
                }
                Scope::Names(_) => {}
            }
        }
        if (self.is_global)(&name) {
            Some(Var::Global(name))
        } else if has_with {
            Some(Var::With(name))
        } else {
            None
        }
    }

    fn attrpath(&mut self, path: Option<ast::Attrpath>) -> Box<[AttrKey]> {
        let Some(path) = path else {
            return Box::new([]);
        };
        path.attrs()
            .map(|attr| match self.attr_key(&attr) {
                Key::Static(name) => AttrKey::Static(name),
                Key::Dynamic(attr) => AttrKey::Dynamic(self.dynamic_key(attr)),
            })
            .collect()
    }

    /// Whether an attribute name is known without evaluation: identifiers, plain strings,
    /// and `${"plain string"}`.
    fn attr_key(&self, attr: &ast::Attr) -> Key {
        match attr {
            ast::Attr::Ident(id) => Key::Static(ident_name(id)),
            ast::Attr::Str(s) => match self.plain_string(s) {
                Some(text) => Key::Static(intern(&text)),
                None => Key::Dynamic(attr.clone()),
            },
            ast::Attr::Dynamic(d) => match d.expr() {
                Some(ast::Expr::Str(s)) => match self.plain_string(&s) {
                    Some(text) => Key::Static(intern(&text)),
                    None => Key::Dynamic(attr.clone()),
                },
                _ => Key::Dynamic(attr.clone()),
            },
        }
    }

    fn plain_string(&self, s: &ast::Str) -> Option<String> {
        let parts = self.string_parts_raw(s);
        let mut out = String::new();
        for part in parts {
            match part {
                RawPart::Text(t) => out.push_str(&t),
                RawPart::Interpol(_) => return None,
            }
        }
        Some(out)
    }

    fn dynamic_key(&mut self, attr: ast::Attr) -> ExprId {
        let range = range_of(&attr);
        match attr {
            ast::Attr::Ident(id) => self.alloc(Expr::Str(ident_name(&id)), range),
            ast::Attr::Str(s) => {
                let parts = self.string_parts(&s);
                self.string_expr(parts, range)
            }
            ast::Attr::Dynamic(d) => self.expr_opt(d.expr(), range),
        }
    }

    // ---- strings -------------------------------------------------------------------------

    fn string_expr(&mut self, parts: Vec<Part>, range: TextRange) -> ExprId {
        match parts.as_slice() {
            [] => self.alloc(Expr::Str(intern("")), range),
            [Part::Lit(s)] => self.alloc(Expr::Str(s.clone()), range),
            _ => self.alloc(Expr::Interp(parts.into()), range),
        }
    }

    fn string_parts(&mut self, s: &ast::Str) -> Vec<Part> {
        let raw = self.string_parts_raw(s);
        let mut parts = Vec::new();
        for part in raw {
            match part {
                RawPart::Text(t) => {
                    if !t.is_empty() {
                        if let Some(Part::Lit(prev)) = parts.last_mut() {
                            *prev = format!("{prev}{t}").into();
                        } else {
                            parts.push(Part::Lit(intern(&t)));
                        }
                    }
                }
                RawPart::Interpol(i) => {
                    let range = range_of(&i);
                    let e = self.expr_opt(i.expr(), range);
                    parts.push(Part::Expr(e));
                }
            }
        }
        parts
    }

    /// The pieces of a string after unescaping (and, for `''` strings, indentation
    /// stripping), before any interpolated expression is lowered.
    fn string_parts_raw(&self, s: &ast::Str) -> Vec<RawPart> {
        let mut indented = false;
        let mut pieces: Vec<RawPiece> = Vec::new();
        for child in s.syntax().children_with_tokens() {
            match child {
                NodeOrToken::Token(t) => match t.kind() {
                    SyntaxKind::TOKEN_STRING_START => indented = t.text() == "''",
                    SyntaxKind::TOKEN_STRING_CONTENT => {
                        pieces.push(RawPiece::Text(t.text().to_string()))
                    }
                    _ => {}
                },
                NodeOrToken::Node(n) => {
                    if let Some(i) = ast::Interpol::cast(n) {
                        pieces.push(RawPiece::Interpol(i));
                    }
                }
            }
        }
        if indented {
            super::strings::strip_indented(pieces)
        } else {
            pieces
                .into_iter()
                .map(|p| match p {
                    RawPiece::Text(t) => RawPart::Text(super::strings::unescape_plain(&t)),
                    RawPiece::Interpol(i) => RawPart::Interpol(i),
                })
                .collect()
        }
    }

    // ---- lambdas -------------------------------------------------------------------------

    fn lambda(&mut self, l: ast::Lambda, range: TextRange) -> ExprId {
        let param = match l.param() {
            Some(ast::Param::IdentParam(p)) => {
                let name = p
                    .ident()
                    .map(|i| ident_name(&i))
                    .unwrap_or_else(|| intern(""));
                let mut names = HashMap::new();
                names.insert(name.clone(), 0);
                self.scopes.push(Scope::Names(names));
                Param::Ident(name)
            }
            Some(ast::Param::Pattern(p)) => {
                let mut names: HashMap<Arc<str>, u32> = HashMap::new();
                let mut entries = Vec::new();
                for entry in p.pat_entries() {
                    let name = entry
                        .ident()
                        .map(|i| ident_name(&i))
                        .unwrap_or_else(|| intern(""));
                    if names.contains_key(&name) {
                        self.errors.push(LowerError {
                            message: format!("duplicate formal function argument '{name}'"),
                            range: range_of(&entry),
                            previous: None,
                        });
                        continue;
                    }
                    names.insert(name.clone(), entries.len() as u32);
                    entries.push((name, entry));
                }
                let bind: Option<Arc<str>> =
                    p.pat_bind().and_then(|b| b.ident()).map(|i| ident_name(&i));
                if let Some(b) = &bind {
                    if names.contains_key(b) {
                        self.errors.push(LowerError {
                            message: format!("duplicate formal function argument '{b}'"),
                            range,
                            previous: None,
                        });
                    } else {
                        names.insert(b.clone(), entries.len() as u32);
                    }
                }
                self.scopes.push(Scope::Names(names));
                let formals = entries
                    .into_iter()
                    .map(|(name, entry)| Formal {
                        name,
                        default: entry.default().map(|d| self.expr(d)),
                    })
                    .collect();
                Param::Formals {
                    formals,
                    ellipsis: p.ellipsis_token().is_some(),
                    bind,
                }
            }
            None => {
                self.scopes.push(Scope::Names(HashMap::new()));
                Param::Ident(intern(""))
            }
        };
        let body = self.expr_opt(l.body(), range);
        self.scopes.pop();
        self.alloc(Expr::Lambda(Arc::new(LambdaExpr { param, body })), range)
    }

    // ---- attribute sets and let ----------------------------------------------------------

    /// The attribute path an error shows.
    fn show(&self, shown: &Shown) -> String {
        match shown {
            Shown::Keys(keys) => keys
                .iter()
                .map(|k| match self.attr_key(k) {
                    Key::Static(name) => name.to_string(),
                    Key::Dynamic(_) => "\"${...}\"".to_string(),
                })
                .collect::<Vec<_>>()
                .join("."),
            Shown::Under(parent, name) => format!("{}.{name}", self.show(parent)),
        }
    }

    fn dup(&mut self, what: &str, range: TextRange, previous: TextRange) {
        self.errors.push(LowerError {
            message: format!("attribute '{what}' already defined"),
            range,
            previous: Some(previous),
        });
    }

    fn collect_set(&mut self, node: &impl HasEntry, rec: bool, is_let: bool) -> PendingSet {
        let mut set = PendingSet {
            rec,
            attrs: BTreeMap::new(),
            dynamic: Vec::new(),
        };
        for entry in node.entries() {
            match entry {
                ast::Entry::Inherit(inherit) => {
                    let from = inherit.from().and_then(|f| f.expr());
                    for attr in inherit.attrs() {
                        let range = range_of(&attr);
                        let name = match self.attr_key(&attr) {
                            Key::Static(name) => name,
                            Key::Dynamic(_) => {
                                self.error("dynamic attributes not allowed in inherit", range);
                                continue;
                            }
                        };
                        if let Some(prev) = set.attrs.get(&name) {
                            let prev = prev.range;
                            self.dup(&name, range, prev);
                            continue;
                        }
                        let value = match &from {
                            Some(from) => {
                                PendingValue::InheritFrom(from.clone(), name.clone(), range)
                            }
                            None => PendingValue::Inherit(name.clone(), range),
                        };
                        set.attrs.insert(
                            name,
                            PendingDef {
                                value,
                                range,
                                key: range_of(&attr),
                            },
                        );
                    }
                }
                ast::Entry::AttrpathValue(apv) => {
                    let range = range_of(&apv);
                    let Some(path) = apv.attrpath() else { continue };
                    let keys: Vec<ast::Attr> = path.attrs().collect();
                    let Some(value) = apv.value() else { continue };
                    let Some(last) = keys.last() else { continue };
                    self.values_written.push((range_of(last), range_of(&value)));
                    self.add_attr(&mut set, &keys, value, range, is_let);
                }
            }
        }
        set
    }

    fn pending_value(&mut self, value: ast::Expr) -> PendingValue {
        match literal_set(&value) {
            Some(inner) => {
                let r = range_of(&inner);
                PendingValue::Set(
                    self.collect_set(&inner, inner.rec_token().is_some(), false),
                    r,
                )
            }
            None => PendingValue::Syntax(value),
        }
    }

    fn add_attr(
        &mut self,
        root: &mut PendingSet,
        keys: &[ast::Attr],
        value: ast::Expr,
        range: TextRange,
        is_let: bool,
    ) {
        let shown = Shown::Keys(keys);
        let mut set = root;
        let last = keys.len() - 1;
        for (i, attr) in keys.iter().enumerate() {
            let key = self.attr_key(attr);
            if is_let
                && i == 0
                && let Key::Dynamic(_) = key
            {
                self.error("dynamic attributes not allowed in let", range);
                return;
            }
            if i < last {
                match key {
                    Key::Static(name) => {
                        let exists = set.attrs.get(&name).map(|d| (d.value.is_set(), d.range));
                        match exists {
                            Some((true, _)) => {}
                            Some((false, prev)) => {
                                let shown = self.show(&shown);
                                self.dup(&shown, range, prev);
                                return;
                            }
                            None => {
                                set.attrs.insert(
                                    name.clone(),
                                    PendingDef {
                                        value: PendingValue::Set(
                                            PendingSet {
                                                rec: false,
                                                attrs: BTreeMap::new(),
                                                dynamic: Vec::new(),
                                            },
                                            range,
                                        ),
                                        range,
                                        key: range_of(attr),
                                    },
                                );
                            }
                        }
                        match set.attrs.get_mut(&name).map(|d| &mut d.value) {
                            Some(PendingValue::Set(inner, _)) => set = inner,
                            _ => return,
                        }
                    }
                    Key::Dynamic(attr) => {
                        set.dynamic.push((
                            attr,
                            PendingValue::Set(
                                PendingSet {
                                    rec: false,
                                    attrs: BTreeMap::new(),
                                    dynamic: Vec::new(),
                                },
                                range,
                            ),
                            range,
                        ));
                        match set.dynamic.last_mut().map(|d| &mut d.1) {
                            Some(PendingValue::Set(inner, _)) => set = inner,
                            _ => return,
                        }
                    }
                }
            } else {
                match key {
                    Key::Static(name) => {
                        let def = PendingDef {
                            value: self.pending_value(value.clone()),
                            range,
                            key: range_of(attr),
                        };
                        self.define(set, name, def, &shown);
                    }
                    Key::Dynamic(attr) => {
                        let new = self.pending_value(value.clone());
                        set.dynamic.push((attr, new, range));
                    }
                }
            }
        }
    }

    /// Defines `name` in `set`. A name defined twice is an error unless both definitions
    /// are attribute sets written out (a literal set, or the set an attrpath makes): then
    /// the later one's attributes are defined in the earlier one, recursively, and its
    /// dynamic attributes join the earlier one's. Its `rec` is dropped; the earlier one's
    /// applies to them all. This is Nix's parser since 2.26 (`{ a.b.c = 1; a = { b.d =
    /// 2; }; }` merges `b` too; 2.8 merged one level only) and 2.17 (the dynamic
    /// attributes; 2.8 dropped them). `shown` is the path shown in the error.
    fn define(&mut self, set: &mut PendingSet, name: Arc<str>, def: PendingDef, shown: &Shown) {
        let Some(existing) = set.attrs.get_mut(&name) else {
            set.attrs.insert(name, def);
            return;
        };
        match (&mut existing.value, def.value) {
            (PendingValue::Set(old, _), PendingValue::Set(new, _)) => {
                for (k, inner) in new.attrs {
                    let shown = Shown::Under(shown, k.clone());
                    self.define(old, k, inner, &shown);
                }
                old.dynamic.extend(new.dynamic);
            }
            _ => {
                let previous = existing.range;
                let shown = self.show(shown);
                self.dup(&shown, def.range, previous);
            }
        }
    }

    fn lower_pending(
        &mut self,
        value: PendingValue,
        range: TextRange,
        in_rec_frame: bool,
    ) -> ExprId {
        if self.out_of_stack(range) {
            return self.alloc(Expr::Error, range);
        }
        match value {
            PendingValue::Syntax(e) => self.expr(e),
            PendingValue::Set(set, r) => self.lower_set(set, r),
            PendingValue::Inherit(name, r) => self.var(name, r, usize::from(in_rec_frame)),
            PendingValue::InheritFrom(from, name, r) => {
                let from = self.expr(from);
                self.alloc(
                    Expr::Select {
                        expr: from,
                        path: Box::new([AttrKey::Static(name)]),
                        default: None,
                    },
                    r,
                )
            }
        }
    }

    fn lower_set(&mut self, set: PendingSet, range: TextRange) -> ExprId {
        if set.rec {
            let names = set
                .attrs
                .keys()
                .enumerate()
                .map(|(i, k)| (k.clone(), i as u32))
                .collect();
            self.scopes.push(Scope::Names(names));
        }
        let mut attrs = Vec::with_capacity(set.attrs.len());
        for (name, def) in set.attrs {
            let value = self.lower_pending(def.value, def.range, set.rec);
            attrs.push(AttrDef {
                name,
                value,
                range: def.key,
            });
        }
        let mut dynamic = Vec::new();
        for (attr, value, r) in set.dynamic {
            let key = self.dynamic_key(attr);
            let value = self.lower_pending(value, r, set.rec);
            dynamic.push((key, value));
        }
        if set.rec {
            self.scopes.pop();
        }
        self.alloc(
            Expr::Attrs(Arc::new(AttrsExpr {
                rec: set.rec,
                attrs: attrs.into(),
                dynamic: dynamic.into(),
            })),
            range,
        )
    }

    fn lower_let(&mut self, set: PendingSet, body: Option<ast::Expr>, range: TextRange) -> ExprId {
        let names = set
            .attrs
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u32))
            .collect();
        self.scopes.push(Scope::Names(names));
        let mut bindings = Vec::with_capacity(set.attrs.len());
        for (_, def) in set.attrs {
            bindings.push(self.lower_pending(def.value, def.range, true));
        }
        let body = self.expr_opt(body, range);
        self.scopes.pop();
        self.alloc(
            Expr::Let {
                bindings: bindings.into(),
                body,
            },
            range,
        )
    }
}

/// An identifier's name: its one token's text, shared ([`intern`]).
fn ident_name(id: &ast::Ident) -> Arc<str> {
    match id.ident_token() {
        Some(token) if token.text_range() == id.syntax().text_range() => intern(token.text()),
        // `or` used as a name is its own token kind.
        _ => intern(&id.syntax().text().to_string()),
    }
}

/// A string piece as the syntax tree has it: raw text (escapes not yet processed) or an
/// interpolation.
pub enum RawPiece {
    Text(String),
    Interpol(ast::Interpol),
}

/// A string piece after unescaping and indentation stripping.
pub enum RawPart {
    Text(String),
    Interpol(ast::Interpol),
}
