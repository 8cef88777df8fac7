//! Forcing thunks, with blackholing (infinite recursion is an error), and forcing a value
//! deeply.

use super::Evaluator;
use crate::eval::Pos;
use crate::eval::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::thunk::{Thunk, ThunkState};
use crate::eval::value::Value;

impl Evaluator<'_> {
    pub fn force(&mut self, thunk: &Thunk, pos: Option<Pos>) -> EvalResult<Value> {
        let state = {
            let mut cell = thunk.0.borrow_mut();
            match &*cell {
                ThunkState::Done(v) => return Ok(v.clone()),
                ThunkState::Literal(literal) => {
                    literal.1.note_read();
                    return Ok(literal.0.clone());
                }
                ThunkState::Blackhole => {
                    return Err(EvalError::new(
                        ErrorKind::InfiniteRecursion,
                        "infinite recursion encountered",
                        pos,
                    ));
                }
                _ => std::mem::replace(&mut *cell, ThunkState::Blackhole),
            }
        };
        let result = match &state {
            ThunkState::Code(module, expr, env) => self.eval(module, *expr, env),
            ThunkState::Apply(apply) => self.apply_many(apply.0.clone(), &apply.1, pos),
            _ => Ok(Value::Null),
        };
        match result {
            Ok(v) => {
                thunk.set(ThunkState::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                // As in Nix, a failed thunk can be forced again (and fail again).
                thunk.set(state);
                Err(e)
            }
        }
    }

    pub fn force_value(&mut self, thunk: &Thunk) -> EvalResult<Value> {
        self.force(thunk, None)
    }

    /// Where a thunk's value comes from, without forcing it or noting a read: code not yet
    /// evaluated (its position), a value, a literal's value (the literal's position), or a
    /// function applied lazily (by a builtin such as `mapAttrs`).
    pub fn thunk_origin(&self, thunk: &Thunk) -> ThunkOrigin {
        match &*thunk.0.borrow() {
            ThunkState::Code(module, expr, _) => ThunkOrigin::Code(Self::pos(module, *expr)),
            ThunkState::Done(v) => ThunkOrigin::Value(v.clone()),
            ThunkState::Literal(literal) => ThunkOrigin::Literal(literal.1.pos),
            ThunkState::Apply(apply) => ThunkOrigin::Apply(apply.0.clone(), apply.1.clone()),
            ThunkState::Blackhole => ThunkOrigin::Pending,
        }
    }

    /// Where a function value is written (a lambda's position); `None` for other values.
    pub fn lambda_pos(value: &Value) -> Option<Pos> {
        match value {
            Value::Lambda(closure) => Some(Self::pos(&closure.module, closure.id)),
            _ => None,
        }
    }

    /// Where the code of a not yet forced thunk is written (none once forced, or for
    /// thunks that are not code).
    pub fn thunk_pos(&self, thunk: &Thunk) -> Option<Pos> {
        match &*thunk.0.borrow() {
            ThunkState::Code(module, expr, _) => Some(Self::pos(module, *expr)),
            _ => None,
        }
    }

    /// Forces a value and everything inside it (for `--strict`, `deepSeq`).
    pub fn deep_force(&mut self, v: &Value, pos: Option<Pos>) -> EvalResult<()> {
        guarded!(self, pos, {
            match v {
                Value::List(items) => {
                    for t in items.iter() {
                        let v = self.force(t, pos)?;
                        self.deep_force(&v, pos)?;
                    }
                    Ok(())
                }
                Value::Attrs(a) => {
                    for attr in &a.entries {
                        let v = self.force(&attr.value, pos)?;
                        self.deep_force(&v, attr.pos.or(pos)).map_err(|mut e| {
                            if let Some(p) = attr.pos {
                                e.push_trace(
                                    p,
                                    format!("while evaluating the attribute '{}'", attr.name),
                                );
                            }
                            e
                        })?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }
}

/// What [`Evaluator::thunk_origin`] finds.
#[derive(Clone, Debug)]
pub enum ThunkOrigin {
    Code(Pos),
    Value(Value),
    Literal(Pos),
    Apply(Value, Vec<Thunk>),
    Pending,
}
