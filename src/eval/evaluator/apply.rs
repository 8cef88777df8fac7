//! Function application: lambdas (binding formals and their defaults), builtins and host
//! functions (partial until all arguments are there), functor sets, and calling a function
//! as `nix-instantiate` does along an `--attr` path.

use std::rc::Rc;
use std::sync::Arc;

use super::Evaluator;
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::ir::{Formal, Param};
use crate::eval::thunk::{Env, Slots, Thunk, ThunkState};
use crate::eval::unknown::Unknown;
use crate::eval::value::{Attrs, Closure, Op, PrimOpApp, Value};

impl Evaluator<'_> {
    pub fn apply_many(&mut self, f: Value, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
        let mut f = f;
        for a in args {
            f = self.apply(f, a.clone(), pos)?;
        }
        Ok(f)
    }

    /// Applies a function to one argument.
    pub fn apply(&mut self, f: Value, arg: Thunk, pos: Option<Pos>) -> EvalResult<Value> {
        guarded!(self, pos, self.apply_inner(f, arg, pos))
    }

    fn apply_inner(&mut self, f: Value, arg: Thunk, pos: Option<Pos>) -> EvalResult<Value> {
        match f {
            Value::Lambda(closure) => {
                let new_env = match &closure.lambda.param {
                    Param::Ident(_) => Env::child(&closure.env, smallvec::smallvec![arg], false),
                    Param::Formals {
                        formals,
                        ellipsis,
                        bind,
                    } => match self.bind_formals(
                        &closure,
                        formals,
                        *ellipsis,
                        bind.is_some(),
                        arg,
                        pos,
                    )? {
                        Ok(new_env) => new_env,
                        Err(u) => return Ok(Value::Unknown(u)),
                    },
                };
                let result = self.eval(&closure.module, closure.lambda.body, &new_env);
                result.map_err(|mut e| {
                    if let Some(p) = pos {
                        e.push_trace(p, "while calling this function");
                    }
                    e
                })
            }
            Value::PrimOp(app) => {
                let mut args = app.args.clone();
                args.push(arg);
                if args.len() == app.op.arity() {
                    let result = match &app.op {
                        Op::Builtin(op) => (op.func)(self, &args, pos),
                        Op::Host(op) => (op.func)(self, &args, pos),
                    };
                    result.map_err(|mut e| {
                        if let Some(p) = pos {
                            e.push_trace(
                                p,
                                format!("while calling the '{}' builtin", app.op.name()),
                            );
                        }
                        e
                    })
                } else {
                    Ok(Value::PrimOp(Rc::new(PrimOpApp {
                        op: app.op.clone(),
                        args,
                    })))
                }
            }
            Value::Attrs(attrs) => match attrs.get("__functor") {
                Some(functor) => {
                    let functor = functor.clone();
                    let functor = self.force(&functor, pos)?;
                    let this = Thunk::value(Value::Attrs(attrs.clone()));
                    let partial = self.apply(functor, this, pos)?;
                    self.apply(partial, arg, pos)
                }
                None => Err(EvalError::eval(
                    "attempt to call something which is not a function but a set",
                    pos,
                )),
            },
            Value::Unknown(u) => Ok(Value::Unknown(u)),
            other => Err(EvalError::eval(
                format!(
                    "attempt to call something which is not a function but {}",
                    other.describe()
                ),
                pos,
            )),
        }
    }

    /// The frame of a call to a lambda with formals: the argument's attributes by formal, in
    /// order, defaults (evaluated in the frame itself) for those it lacks, then the `@`
    /// binding if `bind`. The unknown the argument is, if it is one.
    fn bind_formals(
        &mut self,
        closure: &Closure,
        formals: &[Formal],
        ellipsis: bool,
        bind: bool,
        arg: Thunk,
        pos: Option<Pos>,
    ) -> EvalResult<Result<Rc<Env>, Rc<Unknown>>> {
        let lambda_pos = Self::pos(&closure.module, closure.id);
        let attrs = match self.force(&arg, pos)? {
            Value::Attrs(a) => a,
            Value::Unknown(u) => return Ok(Err(u)),
            other => {
                return Err(EvalError::eval(
                    format!("value is {} while a set was expected", other.describe()),
                    pos,
                ));
            }
        };
        let mut slots = Slots::with_capacity(formals.len() + 1);
        let mut defaults = Vec::new();
        for formal in formals {
            match attrs.get(&formal.name) {
                Some(t) => slots.push(t.clone()),
                None => match formal.default {
                    Some(d) => {
                        defaults.push((slots.len(), d));
                        slots.push(Thunk::blank());
                    }
                    None => {
                        let at = self.describe_pos(lambda_pos);
                        let mut e = EvalError::eval(
                            format!(
                                "anonymous function at {at} called without required argument '{}'",
                                formal.name
                            ),
                            pos,
                        );
                        e.push_trace(lambda_pos, "the function is defined here");
                        return Err(e);
                    }
                },
            }
        }
        if !ellipsis {
            for attr in &attrs.entries {
                if !formals.iter().any(|f| f.name == attr.name) {
                    let at = self.describe_pos(lambda_pos);
                    let mut e = EvalError::eval(
                        format!(
                            "anonymous function at {at} called with unexpected argument '{}'",
                            attr.name
                        ),
                        pos,
                    );
                    e.push_trace(lambda_pos, "the function is defined here");
                    return Err(e);
                }
            }
        }
        if bind {
            slots.push(arg);
        }
        let new_env = self.self_referential_env(&closure.env, slots);
        for (slot, d) in defaults {
            new_env.slots[slot].set(ThunkState::Code(closure.module.clone(), d, new_env.clone()));
        }
        Ok(Ok(new_env))
    }

    /// Calls a function the way `nix-instantiate` does along an `--attr` path: a function
    /// with formals gets `{ }` (each formal needs a default), a functor set is called
    /// through `__functor`; anything else is returned as it is.
    pub fn auto_call(&mut self, v: Value) -> EvalResult<Value> {
        match &v {
            Value::Lambda(closure) => match &closure.lambda.param {
                Param::Formals { formals, .. } => {
                    if let Some(f) = formals.iter().find(|f| f.default.is_none()) {
                        return Err(EvalError::eval(
                            format!(
                                "cannot evaluate a function that has an argument without a value ('{}')",
                                f.name
                            ),
                            Some(Self::pos(&closure.module, closure.id)),
                        ));
                    }
                    self.apply(
                        v.clone(),
                        Thunk::value(Value::attrs(Attrs::default())),
                        None,
                    )
                }
                Param::Ident(_) => Ok(v),
            },
            Value::Attrs(a) => match a.get("__functor").cloned() {
                Some(functor) => {
                    let functor = self.force(&functor, None)?;
                    let inner = self.apply(functor, Thunk::value(v.clone()), None)?;
                    self.auto_call(inner)
                }
                None => Ok(v),
            },
            _ => Ok(v),
        }
    }

    /// A lambda's formal argument names and whether it takes `...`; `None` for a function
    /// of one plain argument or a value that is no lambda.
    pub fn formals(value: &Value) -> Option<(Vec<Arc<str>>, bool)> {
        match value {
            Value::Lambda(closure) => match &closure.lambda.param {
                Param::Formals {
                    formals, ellipsis, ..
                } => Some((formals.iter().map(|f| f.name.clone()).collect(), *ellipsis)),
                Param::Ident(_) => None,
            },
            _ => None,
        }
    }
}
