//! Coercion to a string, as Nix's `coerceToString`: strings, paths (unknown where Nix would
//! copy them to the store), sets through `__toString` or `outPath`, and with `more` the
//! numbers, Booleans, null and lists of `toString`.

use std::rc::Rc;

use super::Evaluator;
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::thunk::Thunk;
use crate::eval::unknown::Unknown;
use crate::eval::value::Value;

impl Evaluator<'_> {
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
}

/// The result of coercing to a string: the text and whether it has context, or unknown.
pub enum Coerced {
    Str(String, bool),
    Unknown(Rc<Unknown>),
}
