//! Printing values fully forced: as JSON exactly like `nix-instantiate --eval --strict
//! --json`, and in Nix syntax like `nix-instantiate --eval --strict`. Unknown values print
//! as `{"__unknown": "<why>"}` (JSON) or `«unknown: why»` and are reported in `Printed`.

use std::fmt::Write;

use super::error::{EvalError, EvalResult};
use super::evaluator::{Coerced, Evaluator};
use super::value::Value;
use super::{Pos, Unknown};

#[derive(Clone, Debug, PartialEq)]
pub struct Printed {
    pub text: String,
    /// The unknown values met while printing, in order.
    pub unknowns: Vec<Unknown>,
}

/// What printing does on meeting an unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OnUnknown {
    /// Write a marker and go on (the CLI).
    Mark,
    /// Stop: the whole result is unknown (`builtins.toJSON`).
    Stop,
}

pub fn print_json(ev: &mut Evaluator, v: &Value) -> EvalResult<Printed> {
    let mut p = Printer {
        out: String::new(),
        unknowns: Vec::new(),
        on_unknown: OnUnknown::Mark,
        strict: true,
    };
    p.json(ev, v, None, 0)?;
    Ok(Printed {
        text: p.out,
        unknowns: p.unknowns,
    })
}

/// `builtins.toJSON`: the JSON text, or the first unknown met.
pub(super) fn to_json(
    ev: &mut Evaluator,
    v: &Value,
    pos: Option<Pos>,
) -> EvalResult<Result<String, Unknown>> {
    let mut p = Printer {
        out: String::new(),
        unknowns: Vec::new(),
        on_unknown: OnUnknown::Stop,
        strict: true,
    };
    p.json(ev, v, pos, 0)?;
    Ok(match p.unknowns.into_iter().next() {
        Some(u) => Err(u),
        None => Ok(p.out),
    })
}

/// Nix syntax. `strict` forces everything; otherwise, as `nix-instantiate --eval` without
/// `--strict`, values not yet computed print as `<CODE>`.
pub fn print_nix(ev: &mut Evaluator, v: &Value, strict: bool) -> EvalResult<Printed> {
    let mut p = Printer {
        out: String::new(),
        unknowns: Vec::new(),
        on_unknown: OnUnknown::Mark,
        strict,
    };
    p.nix(ev, v, None, 0)?;
    Ok(Printed {
        text: p.out,
        unknowns: p.unknowns,
    })
}

struct Printer {
    out: String,
    /// Force values that are not computed yet (always, for JSON).
    strict: bool,
    unknowns: Vec<Unknown>,
    on_unknown: OnUnknown,
}

/// How deeply printing may nest; deeper values are reported as an error (N005).
const MAX_PRINT_DEPTH: usize = 5_000;

fn too_deep(pos: Option<Pos>) -> Box<EvalError> {
    EvalError::new(
        super::ErrorKind::Limit,
        "value nested too deeply to print (possible infinite structure)",
        pos,
    )
}

impl Printer {
    /// The value of a thunk: forced when strict, else only if it is computed already.
    fn value_of(
        &self,
        ev: &mut Evaluator,
        thunk: &super::Thunk,
        pos: Option<Pos>,
    ) -> EvalResult<Option<Value>> {
        if self.strict {
            ev.force(thunk, pos).map(Some)
        } else {
            Ok(thunk.peek())
        }
    }

    fn stopped(&self) -> bool {
        self.on_unknown == OnUnknown::Stop && !self.unknowns.is_empty()
    }

    fn unknown(&mut self, u: &Unknown) {
        self.unknowns.push(u.clone());
        self.out.push_str("{\"__unknown\":");
        json_string(&mut self.out, &u.reason);
        self.out.push('}');
    }

    fn json(
        &mut self,
        ev: &mut Evaluator,
        v: &Value,
        pos: Option<Pos>,
        depth: usize,
    ) -> EvalResult<()> {
        if depth > MAX_PRINT_DEPTH {
            return Err(too_deep(pos));
        }
        ev.enter_nested(pos)?;
        let result = self.json_inner(ev, v, pos, depth);
        ev.leave();
        result
    }

    fn json_inner(
        &mut self,
        ev: &mut Evaluator,
        v: &Value,
        pos: Option<Pos>,
        depth: usize,
    ) -> EvalResult<()> {
        if self.stopped() {
            return Ok(());
        }
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Float(f) => self.out.push_str(&format_float(*f)),
            Value::String(s) => json_string(&mut self.out, s.text()),
            Value::Path(p) => self.unknown(&Unknown::new(
                format!("the store path of {p} (clanc does not copy paths to the store)"),
                pos,
            )),
            Value::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    let v = ev.force(item, pos)?;
                    self.json(ev, &v, pos, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Attrs(a) => {
                if let Some(f) = a.get("__toString").cloned() {
                    let at = pos.unwrap_or_else(super::evaluator::no_pos);
                    let f = ev.force(&f, pos)?;
                    let r = ev.apply(f, super::thunk::Thunk::value(v.clone()), pos)?;
                    match ev.coerce_to_string(r, at, false, false)? {
                        Coerced::Str(s, _) => json_string(&mut self.out, &s),
                        Coerced::Unknown(u) => self.unknown(&u),
                    }
                    return Ok(());
                }
                // A partly modelled set may have a `__toString` (or an `outPath`) clanc does
                // not know.
                if let Some(Value::Unknown(u)) = ev.open_rest(
                    a,
                    "__toString",
                    pos.unwrap_or_else(super::evaluator::no_pos),
                )? {
                    self.unknown(&u);
                    return Ok(());
                }
                if let Some(o) = a.get("outPath").cloned() {
                    let o = ev.force(&o, pos)?;
                    return self.json(ev, &o, pos, depth + 1);
                }
                self.out.push('{');
                for (i, attr) in a.entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    json_string(&mut self.out, &attr.name);
                    self.out.push(':');
                    let at = attr.pos.or(pos);
                    ev.force(&attr.value, at)
                        .and_then(|v| self.json(ev, &v, at, depth + 1))
                        .map_err(|e| attribute_trace(e, attr))?;
                }
                self.out.push('}');
            }
            Value::Lambda(_) | Value::PrimOp(_) => {
                return Err(EvalError::eval("cannot convert a function to JSON", pos));
            }
            Value::Unknown(u) => self.unknown(u),
        }
        Ok(())
    }

    fn nix(
        &mut self,
        ev: &mut Evaluator,
        v: &Value,
        pos: Option<Pos>,
        depth: usize,
    ) -> EvalResult<()> {
        if depth > MAX_PRINT_DEPTH {
            return Err(too_deep(pos));
        }
        ev.enter_nested(pos)?;
        let result = self.nix_inner(ev, v, pos, depth);
        ev.leave();
        result
    }

    fn nix_inner(
        &mut self,
        ev: &mut Evaluator,
        v: &Value,
        pos: Option<Pos>,
        depth: usize,
    ) -> EvalResult<()> {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Float(f) => self.out.push_str(&format_float(*f)),
            Value::String(s) => nix_string(&mut self.out, s.text()),
            Value::Path(p) => self.out.push_str(p),
            Value::List(items) => {
                self.out.push('[');
                for item in items.iter() {
                    self.out.push(' ');
                    match self.value_of(ev, item, pos)? {
                        Some(v) => self.nix(ev, &v, pos, depth + 1)?,
                        None => self.out.push_str("<CODE>"),
                    }
                }
                self.out.push_str(" ]");
            }
            Value::Attrs(a) => {
                self.out.push('{');
                for attr in &a.entries {
                    self.out.push(' ');
                    if is_identifier(&attr.name) {
                        self.out.push_str(&attr.name);
                    } else {
                        nix_string(&mut self.out, &attr.name);
                    }
                    self.out.push_str(" = ");
                    let at = attr.pos.or(pos);
                    match self.value_of(ev, &attr.value, at) {
                        Ok(Some(v)) => self
                            .nix(ev, &v, at, depth + 1)
                            .map_err(|e| attribute_trace(e, attr))?,
                        Ok(None) => self.out.push_str("<CODE>"),
                        Err(e) => return Err(attribute_trace(e, attr)),
                    }
                    self.out.push(';');
                }
                self.out.push_str(" }");
            }
            Value::Lambda(_) => self.out.push_str("<LAMBDA>"),
            Value::PrimOp(app) => {
                if app.args.is_empty() {
                    self.out.push_str("<PRIMOP>")
                } else {
                    self.out.push_str("<PRIMOP-APP>")
                }
            }
            Value::Unknown(u) => {
                self.unknowns.push((**u).clone());
                let _ = write!(self.out, "«unknown: {}»", u.reason);
            }
        }
        Ok(())
    }
}

/// Adds "while evaluating the attribute" to an error met inside an attribute's value.
fn attribute_trace(mut e: Box<EvalError>, attr: &super::Attr) -> Box<EvalError> {
    if let Some(p) = attr.pos {
        e.push_trace(p, format!("while evaluating the attribute '{}'", attr.name));
    }
    e
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '\'' || c == '-')
        && !KEYWORDS.contains(&s)
}

/// A JSON string as Nix writes it: `"`, `\`, newline, return and tab escaped, other control
/// characters as `\u00XX`, everything else raw.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A string in Nix syntax, escaped so that it reads back the same.
pub fn nix_string(out: &mut String, s: &str) {
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as C++'s default stream formatting writes it (`%g`: six significant digits,
/// trailing zeros dropped, exponent form below 1e-4 and from 1e6).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Round to six significant digits first; the exponent of the rounded value decides.
    let sci = format!("{:.5e}", f);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (sci.clone(), 0),
    };
    if !(-4..6).contains(&exp) {
        let mantissa = strip_zeros(&mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, f))
    }
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}
