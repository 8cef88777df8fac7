//! Builtins on numbers.

use super::{PrimOp, known};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::ir::BinOp;
use crate::eval::thunk::Thunk;
use crate::eval::value::Value;

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "add",
        arity: 2,
        func: add,
    },
    PrimOp {
        name: "sub",
        arity: 2,
        func: sub,
    },
    PrimOp {
        name: "mul",
        arity: 2,
        func: mul,
    },
    PrimOp {
        name: "div",
        arity: 2,
        func: div,
    },
    PrimOp {
        name: "bitAnd",
        arity: 2,
        func: bit_and,
    },
    PrimOp {
        name: "bitOr",
        arity: 2,
        func: bit_or,
    },
    PrimOp {
        name: "bitXor",
        arity: 2,
        func: bit_xor,
    },
    PrimOp {
        name: "ceil",
        arity: 1,
        func: ceil,
    },
    PrimOp {
        name: "floor",
        arity: 1,
        func: floor,
    },
    PrimOp {
        name: "lessThan",
        arity: 2,
        func: less_than,
    },
];

fn numbers(
    ev: &mut Evaluator,
    args: &[Thunk],
    pos: Option<Pos>,
) -> EvalResult<Result<(Value, Value), Value>> {
    let a = ev.force(&args[0], pos)?;
    let b = ev.force(&args[1], pos)?;
    for v in [&a, &b] {
        match v {
            Value::Int(_) | Value::Float(_) => {}
            Value::Unknown(_) => return Ok(Err(v.clone())),
            other => {
                return Err(EvalError::eval(
                    format!(
                        "value is {} while an integer was expected",
                        other.describe()
                    ),
                    pos,
                ));
            }
        }
    }
    Ok(Ok((a, b)))
}

fn add(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (a, b) = match numbers(ev, args, pos)? {
        Ok(x) => x,
        Err(u) => return Ok(u),
    };
    ev.binary_values(BinOp::Add, a, b, pos)
}

fn arith(ev: &mut Evaluator, name: &str, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (a, b) = match numbers(ev, args, pos)? {
        Ok(x) => x,
        Err(u) => return Ok(u),
    };
    ev.arith(name, &a, &b, pos)
}

fn sub(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    arith(ev, "sub", args, pos)
}

fn mul(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    arith(ev, "mul", args, pos)
}

fn div(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    arith(ev, "div", args, pos)
}

fn bits(
    ev: &mut Evaluator,
    args: &[Thunk],
    pos: Option<Pos>,
    f: fn(i64, i64) -> i64,
) -> EvalResult<Value> {
    let a = known!(ev.want_int(&args[0], pos)?);
    let b = known!(ev.want_int(&args[1], pos)?);
    Ok(Value::Int(f(a, b)))
}

fn bit_and(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    bits(ev, args, pos, |a, b| a & b)
}

fn bit_or(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    bits(ev, args, pos, |a, b| a | b)
}

fn bit_xor(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    bits(ev, args, pos, |a, b| a ^ b)
}

fn rounding(
    ev: &mut Evaluator,
    args: &[Thunk],
    pos: Option<Pos>,
    f: fn(f64) -> f64,
) -> EvalResult<Value> {
    match ev.force(&args[0], pos)? {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(x) => Ok(Value::Int(f(x) as i64)),
        Value::Unknown(u) => Ok(Value::Unknown(u)),
        other => Err(EvalError::eval(
            format!("value is {} while a float was expected", other.describe()),
            pos,
        )),
    }
}

fn ceil(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    rounding(ev, args, pos, f64::ceil)
}

fn floor(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    rounding(ev, args, pos, f64::floor)
}

fn less_than(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let a = ev.force(&args[0], pos)?;
    let b = ev.force(&args[1], pos)?;
    Ok(match ev.less_than(&a, &b, pos)? {
        Ok(x) => Value::Bool(x),
        Err(u) => Value::Unknown(u),
    })
}
