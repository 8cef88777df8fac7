//! The binary operators: the lazy Boolean ones (`&&`, `||`, `->`), and on values `==`, `<`
//! and their kin, `//`, `++`, `+` (numbers, strings, paths) and the arithmetic of `-`, `*`,
//! `/` (`builtins.sub`, `mul`, `div`).

use std::rc::Rc;

use super::positions::dummy_pos;
use super::{Coerced, Evaluator, canon_path};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::ir::{BinOp, ExprId, Module};
use crate::eval::thunk::Env;
use crate::eval::unknown::Unknown;
use crate::eval::value::Value;

impl Evaluator<'_> {
    pub(super) fn binary(
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
            BinOp::Add => self.add(&a, &b, pos),
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

    /// `+`: numbers add; a path or a string on the left gets the right side appended as a
    /// string; anything else is concatenated as strings when the left side coerces.
    fn add(&mut self, a: &Value, b: &Value, pos: Option<Pos>) -> EvalResult<Value> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => Ok(Value::Int(x.wrapping_add(*y))),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                Ok(Value::Float(as_float(a) + as_float(b)))
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
}

fn tri(r: Result<bool, Rc<Unknown>>) -> Value {
    match r {
        Ok(b) => Value::Bool(b),
        Err(u) => Value::Unknown(u),
    }
}

pub(super) fn as_float(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}
