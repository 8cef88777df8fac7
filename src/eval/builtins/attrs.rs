//! Builtins on attribute sets.

use super::{Known, PrimOp, known};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::thunk::Thunk;
use crate::eval::value::{Attr, Attrs, Value};

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "attrNames",
        arity: 1,
        func: attr_names,
    },
    PrimOp {
        name: "attrValues",
        arity: 1,
        func: attr_values,
    },
    PrimOp {
        name: "catAttrs",
        arity: 2,
        func: cat_attrs,
    },
    PrimOp {
        name: "getAttr",
        arity: 2,
        func: get_attr,
    },
    PrimOp {
        name: "hasAttr",
        arity: 2,
        func: has_attr,
    },
    PrimOp {
        name: "intersectAttrs",
        arity: 2,
        func: intersect_attrs,
    },
    PrimOp {
        name: "listToAttrs",
        arity: 1,
        func: list_to_attrs,
    },
    PrimOp {
        name: "mapAttrs",
        arity: 2,
        func: map_attrs,
    },
    PrimOp {
        name: "removeAttrs",
        arity: 2,
        func: remove_attrs,
    },
    PrimOp {
        name: "zipAttrsWith",
        arity: 2,
        func: zip_attrs_with,
    },
    PrimOp {
        name: "unsafeGetAttrPos",
        arity: 2,
        func: unsafe_get_attr_pos,
    },
];

/// `Err(unknown)` for an open set (a partly modelled one), whose names cannot be listed.
fn enumerable(ev: &mut Evaluator, a: &Attrs, pos: Option<Pos>) -> EvalResult<Known<()>> {
    Ok(match ev.open_names(a, pos)? {
        Some(u) => Err(u),
        None => Ok(()),
    })
}

fn attr_names(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let a = known!(ev.want_attrs(&args[0], pos)?);
    known!(enumerable(ev, &a, pos)?);
    Ok(Value::list(
        a.entries
            .iter()
            .map(|e| Thunk::value(Value::string(&*e.name)))
            .collect(),
    ))
}

fn attr_values(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let a = known!(ev.want_attrs(&args[0], pos)?);
    known!(enumerable(ev, &a, pos)?);
    Ok(Value::list(
        a.entries.iter().map(|e| e.value.clone()).collect(),
    ))
}

fn cat_attrs(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (name, _) = known!(ev.want_string(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut out = Vec::new();
    for item in list.iter() {
        let a = known!(ev.want_attrs(item, pos)?);
        if let Some(t) = a.get(&name) {
            out.push(t.clone());
        }
    }
    Ok(Value::list(out))
}

fn get_attr(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (name, _) = known!(ev.want_string(&args[0], pos)?);
    let a = known!(ev.want_attrs(&args[1], pos)?);
    match a.get(&name) {
        Some(t) => {
            let t = t.clone();
            ev.force(&t, pos)
        }
        None => {
            known!(enumerable(ev, &a, pos)?);
            Err(EvalError::eval(
                format!("attribute '{name}' missing for call to 'getAttr'"),
                pos,
            ))
        }
    }
}

fn has_attr(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (name, _) = known!(ev.want_string(&args[0], pos)?);
    let a = known!(ev.want_attrs(&args[1], pos)?);
    if a.get(&name).is_none() {
        known!(enumerable(ev, &a, pos)?);
    }
    Ok(Value::Bool(a.get(&name).is_some()))
}

fn intersect_attrs(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let a = known!(ev.want_attrs(&args[0], pos)?);
    let b = known!(ev.want_attrs(&args[1], pos)?);
    known!(enumerable(ev, &a, pos)?);
    known!(enumerable(ev, &b, pos)?);
    let entries = b
        .entries
        .iter()
        .filter(|e| a.get(&e.name).is_some())
        .cloned()
        .collect();
    Ok(Value::attrs(Attrs { entries }))
}

fn list_to_attrs(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let list = known!(ev.want_list(&args[0], pos)?);
    let mut entries = Vec::with_capacity(list.len());
    for item in list.iter() {
        let a = known!(ev.want_attrs(item, pos)?);
        let name = match a.get("name") {
            Some(t) => known!(ev.want_string(&t.clone(), pos)?).0,
            None => {
                return Err(EvalError::eval(
                    "attribute 'name' missing for call to 'listToAttrs'",
                    pos,
                ));
            }
        };
        let value = match a.find("value") {
            Some(attr) => attr.clone(),
            None => {
                return Err(EvalError::eval(
                    "attribute 'value' missing for call to 'listToAttrs'",
                    pos,
                ));
            }
        };
        entries.push(Attr {
            name: name.into(),
            value: value.value,
            pos: value.pos,
        });
    }
    // The first definition of a name wins.
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

fn map_attrs(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = ev.force(&args[0], pos)?;
    let a = known!(ev.want_attrs(&args[1], pos)?);
    let entries = a
        .entries
        .iter()
        .map(|e| {
            if &*e.name == crate::eval::OPEN_MARKER {
                // an open set stays open: the marker is not one of its attributes
                return e.clone();
            }
            Attr {
                name: e.name.clone(),
                value: Thunk::apply(
                    f.clone(),
                    vec![Thunk::value(Value::string(&*e.name)), e.value.clone()],
                ),
                pos: e.pos,
            }
        })
        .collect();
    Ok(Value::attrs(Attrs { entries }))
}

fn remove_attrs(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let a = known!(ev.want_attrs(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut names = Vec::with_capacity(list.len());
    for item in list.iter() {
        names.push(known!(ev.want_string(item, pos)?).0);
    }
    let entries = a
        .entries
        .iter()
        .filter(|e| !names.iter().any(|n| **n == *e.name))
        .cloned()
        .collect();
    Ok(Value::attrs(Attrs { entries }))
}

fn zip_attrs_with(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = ev.force(&args[0], pos)?;
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut grouped: std::collections::BTreeMap<crate::eval::value::Name, Vec<Thunk>> =
        Default::default();
    for item in list.iter() {
        let a = known!(ev.want_attrs(item, pos)?);
        known!(enumerable(ev, &a, pos)?);
        for e in &a.entries {
            grouped
                .entry(e.name.clone())
                .or_default()
                .push(e.value.clone());
        }
    }
    let entries = grouped
        .into_iter()
        .map(|(name, values)| Attr {
            value: Thunk::apply(
                f.clone(),
                vec![
                    Thunk::value(Value::string(&*name)),
                    Thunk::value(Value::list(values)),
                ],
            ),
            name,
            pos: None,
        })
        .collect();
    Ok(Value::attrs(Attrs { entries }))
}

fn unsafe_get_attr_pos(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (name, _) = known!(ev.want_string(&args[0], pos)?);
    let a = known!(ev.want_attrs(&args[1], pos)?);
    let Some(attr_pos) = a.find(&name).and_then(|e| e.pos) else {
        return Ok(Value::Null);
    };
    Ok(ev.position_attrs(attr_pos))
}
