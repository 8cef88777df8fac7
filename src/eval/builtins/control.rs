//! Builtins that steer evaluation: errors, `seq`, `tryEval`, tracing.

use super::{PrimOp, known, make_attrs};
use crate::eval::Pos;
use crate::eval::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::thunk::Thunk;
use crate::eval::value::Value;

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "abort",
        arity: 1,
        func: abort,
    },
    PrimOp {
        name: "throw",
        arity: 1,
        func: throw,
    },
    PrimOp {
        name: "addErrorContext",
        arity: 2,
        func: add_error_context,
    },
    PrimOp {
        name: "seq",
        arity: 2,
        func: seq,
    },
    PrimOp {
        name: "deepSeq",
        arity: 2,
        func: deep_seq,
    },
    PrimOp {
        name: "tryEval",
        arity: 1,
        func: try_eval,
    },
    PrimOp {
        name: "trace",
        arity: 2,
        func: trace,
    },
    PrimOp {
        name: "warn",
        arity: 2,
        func: warn,
    },
    PrimOp {
        name: "break",
        arity: 1,
        func: identity,
    },
];

fn abort(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (msg, _) = known!(ev.want_coerced(&args[0], pos, false, false)?);
    Err(EvalError::new(
        ErrorKind::Abort,
        format!("evaluation aborted with the following error message: '{msg}'"),
        pos,
    ))
}

fn throw(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (msg, _) = known!(ev.want_coerced(&args[0], pos, false, false)?);
    Err(EvalError::new(ErrorKind::Throw, msg, pos))
}

fn add_error_context(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    match ev.force(&args[1], pos) {
        Ok(v) => Ok(v),
        Err(mut e) => {
            if let (Some(p), Ok(Ok((msg, _)))) = (pos, ev.want_coerced(&args[0], pos, false, false))
            {
                e.push_trace(p, msg);
            }
            Err(e)
        }
    }
}

fn seq(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    ev.force(&args[0], pos)?;
    ev.force(&args[1], pos)
}

fn deep_seq(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let v = ev.force(&args[0], pos)?;
    ev.deep_force(&v, pos)?;
    ev.force(&args[1], pos)
}

fn try_eval(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    match ev.force(&args[0], pos) {
        Ok(v) => Ok(make_attrs(vec![
            ("success", Value::Bool(true)),
            ("value", v),
        ])),
        Err(e) if e.is_catchable() => Ok(make_attrs(vec![
            ("success", Value::Bool(false)),
            ("value", Value::Bool(false)),
        ])),
        Err(e) => Err(e),
    }
}

fn trace(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let msg = ev.force(&args[0], pos)?;
    let shown = match &msg {
        Value::String(s) => s.text().to_string(),
        other => crate::eval::print_nix(ev, other, true)
            .map(|p| p.text)
            .unwrap_or_default(),
    };
    ev.trace_output.push(format!("trace: {shown}"));
    ev.force(&args[1], pos)
}

fn warn(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (msg, _) = known!(ev.want_string(&args[0], pos)?);
    ev.trace_output.push(format!("warning: {msg}"));
    ev.force(&args[1], pos)
}

fn identity(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    ev.force(&args[0], pos)
}
