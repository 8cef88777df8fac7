//! `match` and `split`: POSIX extended regular expressions, as Nix uses them, run on the
//! `regex` crate. The translation handles the differences that matter in practice:
//! - `.` matches a newline in POSIX (Nix does not set REG_NEWLINE): we set `(?s)`.
//! - Inside a bracket expression a backslash is literal in POSIX (`[\.]` is a backslash or a
//!   dot): we escape it.
//! - A `]` first in a bracket (or after `^`) is literal in POSIX: we escape it.
//! - `match` must match the whole string: we anchor with `^(?:...)$`.
//!
//! Known differences that remain: POSIX takes the leftmost-*longest* match, the `regex`
//! crate the leftmost-*first*, so captures of ambiguous alternations (`(a|ab)`) can differ;
//! `regex` works on Unicode scalar values where Nix's `std::regex` works on bytes; syntax
//! POSIX leaves undefined (`a{`, `\d` meaning) may be accepted or rejected differently.

use std::rc::Rc;

use super::{PrimOp, known};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::thunk::Thunk;
use crate::eval::value::Value;

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "match",
        arity: 2,
        func: match_,
    },
    PrimOp {
        name: "split",
        arity: 2,
        func: split,
    },
];

/// Translates a POSIX ERE into `regex` syntax (see the module doc).
pub fn translate(posix: &str) -> String {
    let mut out = String::with_capacity(posix.len() + 8);
    let chars: Vec<char> = posix.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push('\\');
            if let Some(&next) = chars.get(i + 1) {
                out.push(next);
            }
            i += 2;
            continue;
        }
        if c == '[' {
            out.push('[');
            i += 1;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            if chars.get(i) == Some(&']') {
                out.push_str("\\]");
                i += 1;
            }
            while i < chars.len() && chars[i] != ']' {
                match chars[i] {
                    '[' if matches!(chars.get(i + 1), Some(':' | '=' | '.')) => {
                        // A class like [:alpha:]: copy through its closing `:]`.
                        let kind = chars[i + 1];
                        out.push('[');
                        out.push(kind);
                        i += 2;
                        while i < chars.len()
                            && !(chars[i] == kind && chars.get(i + 1) == Some(&']'))
                        {
                            out.push(chars[i]);
                            i += 1;
                        }
                        if i < chars.len() {
                            out.push(kind);
                            out.push(']');
                            i += 2;
                        }
                    }
                    '\\' => {
                        out.push_str("\\\\");
                        i += 1;
                    }
                    '[' => {
                        out.push_str("\\[");
                        i += 1;
                    }
                    '&' | '~' | '-' if chars.get(i + 1) == Some(&chars[i]) => {
                        // `regex` reads `&&`, `~~`, `--` as set operations.
                        out.push('\\');
                        out.push(chars[i]);
                        i += 1;
                    }
                    c => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            if i < chars.len() {
                out.push(']');
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn compile(
    ev: &mut Evaluator,
    pattern: &str,
    whole: bool,
    pos: Option<Pos>,
) -> EvalResult<Rc<regex::Regex>> {
    let key = format!("{}{pattern}", if whole { 'm' } else { 's' });
    if let Some(r) = ev.regex_cache.get(&key) {
        return Ok(r.clone());
    }
    let translated = translate(pattern);
    let source = if whole {
        format!("(?s)^(?:{translated})$")
    } else {
        format!("(?s){translated}")
    };
    match regex::Regex::new(&source) {
        Ok(r) => {
            let r = Rc::new(r);
            ev.regex_cache.insert(key, r.clone());
            Ok(r)
        }
        Err(_) => Err(EvalError::eval(
            format!("invalid regular expression '{pattern}'"),
            pos,
        )),
    }
}

fn captures(caps: &regex::Captures) -> Vec<Thunk> {
    (1..caps.len())
        .map(|i| {
            Thunk::value(match caps.get(i) {
                Some(m) => Value::string(m.as_str()),
                None => Value::Null,
            })
        })
        .collect()
}

fn match_(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (pattern, _) = known!(ev.want_string(&args[0], pos)?);
    let (s, _) = known!(ev.want_string(&args[1], pos)?);
    let re = compile(ev, &pattern, true, pos)?;
    Ok(match re.captures(&s) {
        Some(caps) => Value::list(captures(&caps)),
        None => Value::Null,
    })
}

fn split(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (pattern, _) = known!(ev.want_string(&args[0], pos)?);
    let (s, ctx) = known!(ev.want_string(&args[1], pos)?);
    let re = compile(ev, &pattern, false, pos)?;
    let mut out = Vec::new();
    let mut last = 0;
    for caps in re.captures_iter(&s) {
        let Some(whole) = caps.get(0) else { continue };
        out.push(Thunk::value(Value::string_with(
            &s[last..whole.start()],
            ctx,
        )));
        out.push(Thunk::value(Value::list(captures(&caps))));
        last = whole.end();
    }
    out.push(Thunk::value(Value::string_with(&s[last..], ctx)));
    Ok(Value::list(out))
}
