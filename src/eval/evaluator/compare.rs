//! Comparison: Nix's deep `==` (numbers across int and float, derivations by `outPath`, open
//! sets unknown) and `<` (numbers, strings, paths, lists).

use std::rc::Rc;

use super::Evaluator;
use super::operators::as_float;
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::unknown::Unknown;
use crate::eval::value::{Attrs, Value};

impl Evaluator<'_> {
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
