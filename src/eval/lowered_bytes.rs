//! A file's lowered IR as bytes and back, so that a later run can take a file's IR instead
//! of parsing and lowering its text again (parsing with rnix and lowering are most of a
//! check's work on a large clan; see [`super::LoweredPack`]).
//!
//! The bytes are this build's own: no version is written, the caller keys them by the
//! executable that wrote them. Decoding still checks everything the evaluator relies on
//! without looking (every expression id inside the arena, the root included), and gives
//! `None` for bytes it cannot read whole; the caller then lowers the text as always.
//!
//! Layout: a table of the file's distinct strings (names, literals), then the expressions,
//! root, source map, lowering errors, syntax errors and where values are written. Integers
//! are LEB128 varints (signed ones zigzagged), floats their 8 bytes, strings an index into
//! the table.

use std::collections::HashMap;
use std::sync::Arc;

use rnix::{TextRange, TextSize};

use super::interned::intern;
use super::ir::*;
use crate::syntax::SyntaxError;

/// `lowered` as bytes.
pub fn encode(lowered: &Lowered) -> Vec<u8> {
    let mut body = Writer::default();
    body.count(lowered.exprs.len());
    for expr in &lowered.exprs {
        body.expr(expr);
    }
    body.id(lowered.root);
    body.count(lowered.source_map.ranges.len());
    for range in &lowered.source_map.ranges {
        body.range(*range);
    }
    body.count(lowered.errors.len());
    for error in &lowered.errors {
        body.text(&error.message);
        body.range(error.range);
        body.optional_range(error.previous);
    }
    body.count(lowered.syntax_errors.len());
    for error in &lowered.syntax_errors {
        body.text(&error.message);
        body.range(error.range);
    }
    body.count(lowered.written.values.len());
    for (key, value) in &lowered.written.values {
        body.range(*key);
        body.range(*value);
    }
    body.count(lowered.written.lists.len());
    for (list, elements) in &lowered.written.lists {
        body.range(*list);
        body.count(elements.len());
        for element in elements {
            body.range(*element);
        }
    }
    let mut out = Writer::default();
    out.count(body.strings.len());
    for text in &body.strings {
        out.text(text);
    }
    out.bytes.extend_from_slice(&body.bytes);
    out.bytes
}

/// The IR `bytes` hold, when they are whole and every expression id is inside the arena.
pub fn decode(bytes: &[u8]) -> Option<Lowered> {
    let mut r = Reader { bytes, at: 0 };
    let strings = r.vec(|r| r.text().map(intern))?;
    let mut r = Decoder {
        r,
        strings,
        exprs: 0,
    };
    let count = r.r.count()?;
    r.exprs = count;
    let mut exprs = Vec::with_capacity(count);
    for _ in 0..count {
        exprs.push(r.expr()?);
    }
    let root = r.id()?;
    let ranges = r.r.vec(Reader::range)?;
    let errors = r.r.vec(|r| {
        Some(LowerError {
            message: r.text()?.to_string(),
            range: r.range()?,
            previous: r.optional_range()?,
        })
    })?;
    let syntax_errors = r.r.vec(|r| {
        let message = r.text()?.to_string();
        Some(SyntaxError {
            range: r.range()?,
            message,
        })
    })?;
    let values = r.r.vec(|r| Some((r.range()?, r.range()?)))?;
    let lists =
        r.r.vec(|r| Some((r.range()?, r.vec(Reader::range)?.into())))?;
    if r.r.at != bytes.len() {
        return None;
    }
    Some(Lowered {
        exprs,
        root,
        errors,
        syntax_errors,
        source_map: SourceMap { ranges },
        written: WrittenAt {
            values: values.into(),
            lists: lists.into(),
        },
    })
}

#[derive(Default)]
struct Writer<'a> {
    bytes: Vec<u8>,
    /// The table's strings, in order, and each one's index.
    strings: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
}

/// Appends `n` as a LEB128 varint: seven bits a byte, low first, the high bit set on all
/// but the last.
pub(super) fn push_uint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// The varint [`push_uint`] wrote at `*at`, moving `*at` past it; `None` past the end or for
/// more than 64 bits.
pub(super) fn read_uint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        n |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

impl<'a> Writer<'a> {
    fn uint(&mut self, n: u64) {
        push_uint(&mut self.bytes, n);
    }

    fn count(&mut self, n: usize) {
        self.uint(n as u64);
    }

    fn byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    fn flag(&mut self, b: bool) {
        self.byte(u8::from(b));
    }

    fn text(&mut self, text: &str) {
        self.count(text.len());
        self.bytes.extend_from_slice(text.as_bytes());
    }

    /// A string of the IR, by its index in the table.
    fn string(&mut self, text: &'a str) {
        let next = self.strings.len();
        let i = *self.index.entry(text).or_insert(next);
        if i == next {
            self.strings.push(text);
        }
        self.count(i);
    }

    fn id(&mut self, id: ExprId) {
        self.uint(u64::from(id.0));
    }

    fn optional_id(&mut self, id: Option<ExprId>) {
        self.uint(id.map_or(0, |id| u64::from(id.0) + 1));
    }

    fn range(&mut self, range: TextRange) {
        self.uint(u64::from(u32::from(range.start())));
        self.uint(u64::from(u32::from(range.len())));
    }

    fn optional_range(&mut self, range: Option<TextRange>) {
        self.flag(range.is_some());
        if let Some(range) = range {
            self.range(range);
        }
    }

    fn parts(&mut self, parts: &'a [Part]) {
        self.count(parts.len());
        for part in parts {
            match part {
                Part::Lit(text) => {
                    self.byte(0);
                    self.string(text);
                }
                Part::Expr(id) => {
                    self.byte(1);
                    self.id(*id);
                }
            }
        }
    }

    fn keys(&mut self, path: &'a [AttrKey]) {
        self.count(path.len());
        for key in path {
            match key {
                AttrKey::Static(name) => {
                    self.byte(0);
                    self.string(name);
                }
                AttrKey::Dynamic(id) => {
                    self.byte(1);
                    self.id(*id);
                }
            }
        }
    }

    fn ids(&mut self, ids: &[ExprId]) {
        self.count(ids.len());
        for id in ids {
            self.id(*id);
        }
    }

    fn var(&mut self, var: &'a Var) {
        match var {
            Var::Local { up, slot } => {
                self.byte(0);
                self.uint(u64::from(*up));
                self.uint(u64::from(*slot));
            }
            Var::Global(name) => {
                self.byte(1);
                self.string(name);
            }
            Var::With(name) => {
                self.byte(2);
                self.string(name);
            }
        }
    }

    fn attrs(&mut self, set: &'a AttrsExpr) {
        self.flag(set.rec);
        self.count(set.attrs.len());
        for def in &set.attrs {
            self.string(&def.name);
            self.id(def.value);
            self.range(def.range);
        }
        self.count(set.dynamic.len());
        for (key, value) in &set.dynamic {
            self.id(*key);
            self.id(*value);
        }
    }

    fn lambda(&mut self, lambda: &'a LambdaExpr) {
        match &lambda.param {
            Param::Ident(name) => {
                self.byte(0);
                self.string(name);
            }
            Param::Formals {
                formals,
                ellipsis,
                bind,
            } => {
                self.byte(1);
                self.count(formals.len());
                for formal in formals {
                    self.string(&formal.name);
                    self.optional_id(formal.default);
                }
                self.flag(*ellipsis);
                self.flag(bind.is_some());
                if let Some(bind) = bind {
                    self.string(bind);
                }
            }
        }
        self.id(lambda.body);
    }

    fn expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Error => self.byte(0),
            Expr::Int(i) => {
                self.byte(1);
                self.uint(((*i << 1) ^ (*i >> 63)) as u64);
            }
            Expr::Float(f) => {
                self.byte(2);
                self.bytes.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Expr::Str(text) => {
                self.byte(3);
                self.string(text);
            }
            Expr::Interp(parts) => {
                self.byte(4);
                self.parts(parts);
            }
            Expr::Path {
                home,
                relative,
                parts,
            } => {
                self.byte(5);
                self.flag(*home);
                self.flag(*relative);
                self.parts(parts);
            }
            Expr::SearchPath(text) => {
                self.byte(6);
                self.string(text);
            }
            Expr::CurPos => self.byte(7),
            Expr::Var(var) => {
                self.byte(8);
                self.var(var);
            }
            Expr::Select {
                expr,
                path,
                default,
            } => {
                self.byte(9);
                self.id(*expr);
                self.keys(path);
                self.optional_id(*default);
            }
            Expr::HasAttr { expr, path } => {
                self.byte(10);
                self.id(*expr);
                self.keys(path);
            }
            Expr::Attrs(set) => {
                self.byte(11);
                self.attrs(set);
            }
            Expr::List(items) => {
                self.byte(12);
                self.ids(items);
            }
            Expr::Lambda(lambda) => {
                self.byte(13);
                self.lambda(lambda);
            }
            Expr::Apply { func, arg } => {
                self.byte(14);
                self.id(*func);
                self.id(*arg);
            }
            Expr::Let { bindings, body } => {
                self.byte(15);
                self.ids(bindings);
                self.id(*body);
            }
            Expr::With { namespace, body } => {
                self.byte(16);
                self.id(*namespace);
                self.id(*body);
            }
            Expr::If { cond, then, else_ } => {
                self.byte(17);
                self.id(*cond);
                self.id(*then);
                self.id(*else_);
            }
            Expr::Assert { cond, body } => {
                self.byte(18);
                self.id(*cond);
                self.id(*body);
            }
            Expr::Unary(op, operand) => {
                self.byte(19);
                self.byte(match op {
                    UnOp::Not => 0,
                    UnOp::Negate => 1,
                });
                self.id(*operand);
            }
            Expr::Binary(op, left, right) => {
                self.byte(20);
                self.byte(BINARY_OPS.iter().position(|o| o == op).unwrap_or(0) as u8);
                self.id(*left);
                self.id(*right);
            }
        }
    }
}

/// Binary operators by their byte.
const BINARY_OPS: [BinOp; 15] = [
    BinOp::Concat,
    BinOp::Update,
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::And,
    BinOp::Or,
    BinOp::Implication,
    BinOp::Eq,
    BinOp::NotEq,
    BinOp::Less,
    BinOp::LessEq,
    BinOp::More,
    BinOp::MoreEq,
];

/// Reads what [`Writer`] wrote; `None` past the end or at a value out of its range.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn flag(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn uint(&mut self) -> Option<u64> {
        read_uint(self.bytes, &mut self.at)
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }

    /// A count of things to come: never more than bytes are left (each takes at least one),
    /// so a damaged count cannot ask for a huge allocation.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        (n <= self.bytes.len() - self.at).then_some(n)
    }

    fn vec<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.count()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(item(self)?);
        }
        Some(items)
    }

    fn text(&mut self) -> Option<&'a str> {
        let n = self.count()?;
        let bytes = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        std::str::from_utf8(bytes).ok()
    }

    fn range(&mut self) -> Option<TextRange> {
        let start = TextSize::from(self.u32()?);
        let len = TextSize::from(self.u32()?);
        Some(TextRange::at(start, len)).filter(|r| r.end() >= start)
    }

    fn optional_range(&mut self) -> Option<Option<TextRange>> {
        Some(if self.flag()? {
            Some(self.range()?)
        } else {
            None
        })
    }
}

/// A [`Reader`] of one file's expressions: strings come from its table, ids are checked
/// against its arena.
struct Decoder<'a> {
    r: Reader<'a>,
    strings: Vec<Arc<str>>,
    exprs: usize,
}

impl Decoder<'_> {
    fn string(&mut self) -> Option<Arc<str>> {
        let i = usize::try_from(self.r.uint()?).ok()?;
        self.strings.get(i).cloned()
    }

    fn id(&mut self) -> Option<ExprId> {
        let id = self.r.u32()?;
        ((id as usize) < self.exprs).then_some(ExprId(id))
    }

    fn optional_id(&mut self) -> Option<Option<ExprId>> {
        match self.r.u32()? {
            0 => Some(None),
            n => ((n as usize) <= self.exprs).then_some(Some(ExprId(n - 1))),
        }
    }

    fn boxed<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Box<[T]>> {
        let n = self.r.count()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(item(self)?);
        }
        Some(items.into())
    }

    fn parts(&mut self) -> Option<Box<[Part]>> {
        self.boxed(|d| match d.r.byte()? {
            0 => Some(Part::Lit(d.string()?)),
            1 => Some(Part::Expr(d.id()?)),
            _ => None,
        })
    }

    fn keys(&mut self) -> Option<Box<[AttrKey]>> {
        self.boxed(|d| match d.r.byte()? {
            0 => Some(AttrKey::Static(d.string()?)),
            1 => Some(AttrKey::Dynamic(d.id()?)),
            _ => None,
        })
    }

    fn var(&mut self) -> Option<Var> {
        Some(match self.r.byte()? {
            0 => Var::Local {
                up: self.r.u32()?,
                slot: self.r.u32()?,
            },
            1 => Var::Global(self.string()?),
            2 => Var::With(self.string()?),
            _ => return None,
        })
    }

    fn attrs(&mut self) -> Option<AttrsExpr> {
        let rec = self.r.flag()?;
        let attrs = self.boxed(|d| {
            Some(AttrDef {
                name: d.string()?,
                value: d.id()?,
                range: d.r.range()?,
            })
        })?;
        let dynamic = self.boxed(|d| Some((d.id()?, d.id()?)))?;
        Some(AttrsExpr {
            rec,
            attrs,
            dynamic,
        })
    }

    fn lambda(&mut self) -> Option<LambdaExpr> {
        let param = match self.r.byte()? {
            0 => Param::Ident(self.string()?),
            1 => Param::Formals {
                formals: self.boxed(|d| {
                    Some(Formal {
                        name: d.string()?,
                        default: d.optional_id()?,
                    })
                })?,
                ellipsis: self.r.flag()?,
                bind: if self.r.flag()? {
                    Some(self.string()?)
                } else {
                    None
                },
            },
            _ => return None,
        };
        Some(LambdaExpr {
            param,
            body: self.id()?,
        })
    }

    fn expr(&mut self) -> Option<Expr> {
        Some(match self.r.byte()? {
            0 => Expr::Error,
            1 => {
                let z = self.r.uint()?;
                Expr::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => {
                let bytes = self.r.bytes.get(self.r.at..self.r.at + 8)?;
                self.r.at += 8;
                Expr::Float(f64::from_bits(u64::from_le_bytes(bytes.try_into().ok()?)))
            }
            3 => Expr::Str(self.string()?),
            4 => Expr::Interp(self.parts()?),
            5 => Expr::Path {
                home: self.r.flag()?,
                relative: self.r.flag()?,
                parts: self.parts()?,
            },
            6 => Expr::SearchPath(self.string()?),
            7 => Expr::CurPos,
            8 => Expr::Var(self.var()?),
            9 => Expr::Select {
                expr: self.id()?,
                path: self.keys()?,
                default: self.optional_id()?,
            },
            10 => Expr::HasAttr {
                expr: self.id()?,
                path: self.keys()?,
            },
            11 => Expr::Attrs(Arc::new(self.attrs()?)),
            12 => Expr::List(self.boxed(Self::id)?.into()),
            13 => Expr::Lambda(Arc::new(self.lambda()?)),
            14 => Expr::Apply {
                func: self.id()?,
                arg: self.id()?,
            },
            15 => Expr::Let {
                bindings: self.boxed(Self::id)?.into(),
                body: self.id()?,
            },
            16 => Expr::With {
                namespace: self.id()?,
                body: self.id()?,
            },
            17 => Expr::If {
                cond: self.id()?,
                then: self.id()?,
                else_: self.id()?,
            },
            18 => Expr::Assert {
                cond: self.id()?,
                body: self.id()?,
            },
            19 => {
                let op = match self.r.byte()? {
                    0 => UnOp::Not,
                    1 => UnOp::Negate,
                    _ => return None,
                };
                Expr::Unary(op, self.id()?)
            }
            20 => {
                let op = *BINARY_OPS.get(usize::from(self.r.byte()?))?;
                Expr::Binary(op, self.id()?, self.id()?)
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IR of `text` as lowering gives it, syntax errors included.
    fn lowered(text: &str) -> Lowered {
        super::super::lower::lower_parsed(crate::syntax::parse(text), usize::MAX / 2)
    }

    fn round_trips(text: &str) {
        let lowered = lowered(text);
        let bytes = encode(&lowered);
        let back = decode(&bytes).expect("decodes");
        assert_eq!(format!("{back:?}"), format!("{lowered:?}"), "{text}");
    }

    #[test]
    fn every_kind_of_expression_reads_back_as_it_was_written() {
        round_trips(
            r#"
            { lib, config ? { }, ... }@args:
            let
              a = 1; b = -2.5e3; c = "s${toString a}t"; d = ./x/${c}.nix; e = ~/y; f = <nixpkgs>;
              g = rec { x = 1; y = x; ${c} = 2; inherit (args) lib; "q r".s = [ 1 2 ]; };
              h = x: x.y.${c} or null; i = g ? x.y; j = if a < 2 && !false || true -> a != 1
                then assert a >= 1; a + 1 - 2 * 3 / 4 else g // { } ++ [ ];
              k = with lib; mkIf true z; l = __curPos; m = -a; n = a <= b == (a > b);
              o = ''
                indented ${a}
              '';
              p = 9223372036854775807; q = -9223372036854775807;
            in { inherit a b c d e f g h i j k l m n o p q; }
            "#,
        );
    }

    #[test]
    fn errors_and_where_values_are_written_read_back() {
        // lowering errors (an undefined variable, an attribute twice), syntax errors, and
        // an empty file
        round_trips("{ a = 1; a = 2; b = undefinedName; c = [ 1 2 3 ]; }");
        round_trips("{ a = 1 }");
        round_trips("");
        round_trips("let x = [ (1) [ 2 ] ]; in x");
    }

    #[test]
    fn clancs_own_modules_read_back_as_they_were_lowered() {
        for (name, text) in crate::modules::known::FILES {
            let lowered = lowered(text);
            let back = decode(&encode(&lowered)).expect(name);
            assert_eq!(format!("{back:?}"), format!("{lowered:?}"), "{name}");
        }
    }

    #[test]
    fn damaged_bytes_decode_to_none_never_to_a_panic() {
        let bytes = encode(&lowered("{ a = [ 1 2 ]; b = x: x.a or 3; c = \"s\"; }"));
        assert!(decode(&bytes).is_some());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
        // every single byte changed: either still whole (another IR) or refused; the ids
        // the evaluator indexes with stay inside the arena either way
        for at in 0..bytes.len() {
            for value in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] = value;
                if let Some(l) = decode(&damaged) {
                    assert!((l.root.0 as usize) < l.exprs.len());
                }
            }
        }
    }
}
