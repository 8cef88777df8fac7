//! Type predicates, `typeOf` and `functionArgs`.

use super::{PrimOp, known};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::ir::Param;
use crate::eval::thunk::Thunk;
use crate::eval::value::{Attr, Attrs, Value};

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "isAttrs",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::Attrs(_))),
    },
    PrimOp {
        name: "isBool",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::Bool(_))),
    },
    PrimOp {
        name: "isFloat",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::Float(_))),
    },
    PrimOp {
        name: "isFunction",
        arity: 1,
        func: |ev, a, p| {
            is(ev, a, p, |v| {
                matches!(v, Value::Lambda(_) | Value::PrimOp(_))
            })
        },
    },
    PrimOp {
        name: "isInt",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::Int(_))),
    },
    PrimOp {
        name: "isList",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::List(_))),
    },
    PrimOp {
        name: "isNull",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::Null)),
    },
    PrimOp {
        name: "isPath",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::Path(_))),
    },
    PrimOp {
        name: "isString",
        arity: 1,
        func: |ev, a, p| is(ev, a, p, |v| matches!(v, Value::String(_))),
    },
    PrimOp {
        name: "typeOf",
        arity: 1,
        func: type_of,
    },
    PrimOp {
        name: "functionArgs",
        arity: 1,
        func: function_args,
    },
];

fn is(
    ev: &mut Evaluator,
    args: &[Thunk],
    pos: Option<Pos>,
    test: fn(&Value) -> bool,
) -> EvalResult<Value> {
    match ev.force(&args[0], pos)? {
        Value::Unknown(u) => Ok(Value::Unknown(u)),
        v => Ok(Value::Bool(test(&v))),
    }
}

fn type_of(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    match ev.force(&args[0], pos)? {
        Value::Unknown(u) => Ok(Value::Unknown(u)),
        v => Ok(Value::string(v.type_name())),
    }
}

fn function_args(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    match f {
        Value::Lambda(c) => match &c.lambda.param {
            Param::Ident(_) => Ok(Value::attrs(Attrs::default())),
            Param::Formals { formals, .. } => Ok(Value::attrs(Attrs::from_unsorted(
                formals
                    .iter()
                    .map(|f| Attr {
                        name: f.name.clone(),
                        value: Thunk::value(Value::Bool(f.default.is_some())),
                        pos: None,
                    })
                    .collect(),
            ))),
        },
        Value::PrimOp(_) => Ok(Value::attrs(Attrs::default())),
        other => Err(EvalError::eval(
            format!(
                "value is {} while a function was expected",
                other.describe()
            ),
            pos,
        )),
    }
}
