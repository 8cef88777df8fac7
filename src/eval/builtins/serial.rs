//! JSON and TOML: `fromJSON`, `toJSON`, `fromTOML`.

use super::{PrimOp, known};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::thunk::Thunk;
use crate::eval::value::{Attr, Attrs, Value};

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "fromJSON",
        arity: 1,
        func: from_json,
    },
    PrimOp {
        name: "toJSON",
        arity: 1,
        func: to_json,
    },
    PrimOp {
        name: "fromTOML",
        arity: 1,
        func: from_toml,
    },
];

fn json_value(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::string(s),
        serde_json::Value::Array(items) => Value::list(
            items
                .into_iter()
                .map(|i| Thunk::value(json_value(i)))
                .collect(),
        ),
        serde_json::Value::Object(map) => Value::attrs(Attrs::from_unsorted(
            map.into_iter()
                .map(|(k, v)| Attr {
                    name: k.into(),
                    value: Thunk::value(json_value(v)),
                    pos: None,
                })
                .collect(),
        )),
    }
}

fn from_json(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, _) = known!(ev.want_string(&args[0], pos)?);
    // Nix's parser keeps the last of repeated keys; serde_json's map does too.
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(v) => Ok(json_value(v)),
        Err(e) => Err(EvalError::eval(
            format!("while decoding a JSON string: {e}"),
            pos,
        )),
    }
}

fn to_json(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let v = ev.force(&args[0], pos)?;
    match crate::eval::print::to_json(ev, &v, pos)? {
        Ok(s) => Ok(Value::string(s)),
        Err(u) => Ok(Value::Unknown(std::rc::Rc::new(u))),
    }
}

fn toml_value(v: toml::Value, pos: Option<Pos>) -> EvalResult<Value> {
    Ok(match v {
        toml::Value::String(s) => Value::string(s),
        toml::Value::Integer(i) => Value::Int(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(_) => {
            return Err(EvalError::eval(
                "unsupported type in TOML: date and time",
                pos,
            ));
        }
        toml::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(Thunk::value(toml_value(i, pos)?));
            }
            Value::list(out)
        }
        toml::Value::Table(t) => {
            let mut entries = Vec::with_capacity(t.len());
            for (k, v) in t {
                entries.push(Attr {
                    name: k.into(),
                    value: Thunk::value(toml_value(v, pos)?),
                    pos: None,
                });
            }
            Value::attrs(Attrs::from_unsorted(entries))
        }
    })
}

fn from_toml(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, _) = known!(ev.want_string(&args[0], pos)?);
    match s.parse::<toml::Table>() {
        Ok(t) => toml_value(toml::Value::Table(t), pos),
        Err(e) => Err(EvalError::eval(
            format!(
                "while parsing a TOML string: {}",
                e.to_string().lines().next().unwrap_or_default()
            ),
            pos,
        )),
    }
}
