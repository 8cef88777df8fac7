//! Builtins on lists.

use std::collections::BTreeMap;

use super::{PrimOp, known, make_attrs};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::thunk::Thunk;
use crate::eval::value::{Attr, Attrs, Value};

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "all",
        arity: 2,
        func: all,
    },
    PrimOp {
        name: "any",
        arity: 2,
        func: any,
    },
    PrimOp {
        name: "concatLists",
        arity: 1,
        func: concat_lists,
    },
    PrimOp {
        name: "concatMap",
        arity: 2,
        func: concat_map,
    },
    PrimOp {
        name: "elem",
        arity: 2,
        func: elem,
    },
    PrimOp {
        name: "elemAt",
        arity: 2,
        func: elem_at,
    },
    PrimOp {
        name: "filter",
        arity: 2,
        func: filter,
    },
    PrimOp {
        name: "foldl'",
        arity: 3,
        func: foldl,
    },
    PrimOp {
        name: "genList",
        arity: 2,
        func: gen_list,
    },
    PrimOp {
        name: "genericClosure",
        arity: 1,
        func: generic_closure,
    },
    PrimOp {
        name: "groupBy",
        arity: 2,
        func: group_by,
    },
    PrimOp {
        name: "head",
        arity: 1,
        func: head,
    },
    PrimOp {
        name: "length",
        arity: 1,
        func: length,
    },
    PrimOp {
        name: "map",
        arity: 2,
        func: map,
    },
    PrimOp {
        name: "partition",
        arity: 2,
        func: partition,
    },
    PrimOp {
        name: "sort",
        arity: 2,
        func: sort,
    },
    PrimOp {
        name: "tail",
        arity: 1,
        func: tail,
    },
];

fn predicate(
    ev: &mut Evaluator,
    f: &Value,
    item: &Thunk,
    pos: Option<Pos>,
) -> EvalResult<Result<bool, Value>> {
    let r = ev.apply(f.clone(), item.clone(), pos)?;
    match r {
        Value::Bool(b) => Ok(Ok(b)),
        Value::Unknown(u) => Ok(Err(Value::Unknown(u))),
        other => Err(EvalError::eval(
            format!("value is {} while a Boolean was expected", other.describe()),
            pos,
        )),
    }
}

fn all(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut unknown = None;
    for item in list.iter() {
        match predicate(ev, &f, item, pos)? {
            Ok(false) => return Ok(Value::Bool(false)),
            Ok(true) => {}
            Err(u) => unknown = unknown.or(Some(u)),
        }
    }
    Ok(unknown.unwrap_or(Value::Bool(true)))
}

fn any(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut unknown = None;
    for item in list.iter() {
        match predicate(ev, &f, item, pos)? {
            Ok(true) => return Ok(Value::Bool(true)),
            Ok(false) => {}
            Err(u) => unknown = unknown.or(Some(u)),
        }
    }
    Ok(unknown.unwrap_or(Value::Bool(false)))
}

fn concat_lists(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let list = known!(ev.want_list(&args[0], pos)?);
    let mut out = Vec::new();
    for item in list.iter() {
        let inner = known!(ev.want_list(item, pos)?);
        out.extend(inner.iter().cloned());
    }
    Ok(Value::list(out))
}

fn concat_map(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut out = Vec::new();
    for item in list.iter() {
        match ev.apply(f.clone(), item.clone(), pos)? {
            Value::List(inner) => out.extend(inner.iter().cloned()),
            Value::Unknown(u) => return Ok(Value::Unknown(u)),
            other => {
                return Err(EvalError::eval(
                    format!("value is {} while a list was expected", other.describe()),
                    pos,
                ));
            }
        }
    }
    Ok(Value::list(out))
}

fn elem(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let x = ev.force(&args[0], pos)?;
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut unknown = None;
    for item in list.iter() {
        let v = ev.force(item, pos)?;
        match ev.equal(&x, &v, pos)? {
            Ok(true) => return Ok(Value::Bool(true)),
            Ok(false) => {}
            Err(u) => unknown = unknown.or(Some(u)),
        }
    }
    Ok(unknown.map_or(Value::Bool(false), Value::Unknown))
}

fn elem_at(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let list = known!(ev.want_list(&args[0], pos)?);
    let n = known!(ev.want_int(&args[1], pos)?);
    match usize::try_from(n).ok().and_then(|i| list.get(i)) {
        Some(t) => {
            let t = t.clone();
            ev.force(&t, pos)
        }
        None => Err(EvalError::eval(
            format!("list index {n} is out of bounds"),
            pos,
        )),
    }
}

fn filter(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut out = Vec::new();
    for item in list.iter() {
        match predicate(ev, &f, item, pos)? {
            Ok(true) => out.push(item.clone()),
            Ok(false) => {}
            Err(u) => return Ok(u),
        }
    }
    Ok(Value::list(out))
}

fn foldl(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[2], pos)?);
    // As Nix 2.8: the initial accumulator is forced only when the list is empty; every
    // later one is the (forced) result of a call.
    if list.is_empty() {
        return ev.force(&args[1], pos);
    }
    let mut acc = args[1].clone();
    for item in list.iter() {
        let partial = ev.apply(f.clone(), acc, pos)?;
        acc = Thunk::value(ev.apply(partial, item.clone(), pos)?);
    }
    // A computed value: forcing it only reads it back.
    ev.force(&acc, pos)
}

fn gen_list(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = ev.force(&args[0], pos)?;
    let n = known!(ev.want_int(&args[1], pos)?);
    if n < 0 {
        return Err(EvalError::eval(
            format!("cannot create list of size {n}"),
            pos,
        ));
    }
    // Each element is a suspended call of `f` on a thunk of its index.
    let each = std::mem::size_of::<Thunk>() * 2 + crate::eval::thunk::THUNK_BYTES * 2;
    if !ev.can_build((n as u64).saturating_mul(each as u64)) {
        return Err(ev.value_budget_exceeded(pos));
    }
    let items = (0..n)
        .map(|i| Thunk::apply(f.clone(), vec![Thunk::value(Value::Int(i))]))
        .collect();
    Ok(Value::list(items))
}

fn generic_closure(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let a = known!(ev.want_attrs(&args[0], pos)?);
    let start = a
        .get("startSet")
        .cloned()
        .ok_or_else(|| EvalError::eval("attribute 'startSet' missing", pos))?;
    let op = a
        .get("operator")
        .cloned()
        .ok_or_else(|| EvalError::eval("attribute 'operator' missing", pos))?;
    let op = ev.force(&op, pos)?;
    let mut work: std::collections::VecDeque<Thunk> =
        known!(ev.want_list(&start, pos)?).iter().cloned().collect();
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    while let Some(item) = work.pop_front() {
        let attrs = known!(ev.want_attrs(&item, pos)?);
        let key = attrs
            .get("key")
            .cloned()
            .ok_or_else(|| EvalError::eval("attribute 'key' missing", pos))?;
        let key = ev.force(&key, pos)?;
        let mut found = false;
        for s in &seen {
            // Keys are compared as Nix's genericClosure does: with `<` both ways.
            let lt = known!(ev.less_than(s, &key, pos)?);
            let gt = known!(ev.less_than(&key, s, pos)?);
            if !lt && !gt {
                found = true;
                break;
            }
        }
        if found {
            continue;
        }
        seen.push(key);
        out.push(item.clone());
        let next = ev.apply(op.clone(), item, pos)?;
        match next {
            Value::List(l) => work.extend(l.iter().cloned()),
            Value::Unknown(u) => return Ok(Value::Unknown(u)),
            other => {
                return Err(EvalError::eval(
                    format!("value is {} while a list was expected", other.describe()),
                    pos,
                ));
            }
        }
    }
    Ok(Value::list(out))
}

fn group_by(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut groups: BTreeMap<crate::eval::value::Name, Vec<Thunk>> = BTreeMap::new();
    for item in list.iter() {
        let name = match ev.apply(f.clone(), item.clone(), pos)? {
            Value::String(s) => s.text().to_string(),
            Value::Unknown(u) => return Ok(Value::Unknown(u)),
            other => {
                return Err(EvalError::eval(
                    format!("value is {} while a string was expected", other.describe()),
                    pos,
                ));
            }
        };
        groups.entry(name.into()).or_default().push(item.clone());
    }
    let entries = groups
        .into_iter()
        .map(|(name, items)| Attr {
            name,
            value: Thunk::value(Value::list(items)),
            pos: None,
        })
        .collect();
    Ok(Value::attrs(Attrs { entries }))
}

fn head(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let list = known!(ev.want_list(&args[0], pos)?);
    match list.first() {
        Some(t) => {
            let t = t.clone();
            ev.force(&t, pos)
        }
        None => Err(EvalError::eval("list index 0 is out of bounds", pos)),
    }
}

fn tail(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let list = known!(ev.want_list(&args[0], pos)?);
    if list.is_empty() {
        return Err(EvalError::eval("'tail' called on an empty list", pos));
    }
    Ok(Value::list(list[1..].to_vec()))
}

fn length(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let list = known!(ev.want_list(&args[0], pos)?);
    Ok(Value::Int(list.len() as i64))
}

fn map(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = ev.force(&args[0], pos)?;
    let list = known!(ev.want_list(&args[1], pos)?);
    Ok(Value::list(
        list.iter()
            .map(|x| Thunk::apply(f.clone(), vec![x.clone()]))
            .collect(),
    ))
}

fn partition(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let (mut right, mut wrong) = (Vec::new(), Vec::new());
    for item in list.iter() {
        match predicate(ev, &f, item, pos)? {
            Ok(true) => right.push(item.clone()),
            Ok(false) => wrong.push(item.clone()),
            Err(u) => return Ok(u),
        }
    }
    Ok(make_attrs(vec![
        ("right", Value::list(right)),
        ("wrong", Value::list(wrong)),
    ]))
}

/// `sort`: a stable merge sort of our own, since the standard library's sorts may panic
/// when the user's comparator is not a total order, and ours must report its errors.
fn sort(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let f = known!(ev.want_function(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut items: Vec<Thunk> = list.to_vec();
    let mut buf = items.clone();
    let n = items.len();
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                // Take from the right only if right < left: keeps equal elements in order.
                let r = ev.call_thunks(&f, &[items[j].clone(), items[i].clone()], pos)?;
                let right_first = match r {
                    Value::Bool(b) => b,
                    Value::Unknown(u) => return Ok(Value::Unknown(u)),
                    other => {
                        return Err(EvalError::eval(
                            format!("value is {} while a Boolean was expected", other.describe()),
                            pos,
                        ));
                    }
                };
                if right_first {
                    buf[k] = items[j].clone();
                    j += 1;
                } else {
                    buf[k] = items[i].clone();
                    i += 1;
                }
                k += 1;
            }
            while i < mid {
                buf[k] = items[i].clone();
                i += 1;
                k += 1;
            }
            while j < end {
                buf[k] = items[j].clone();
                j += 1;
                k += 1;
            }
            start = end;
        }
        std::mem::swap(&mut items, &mut buf);
        width *= 2;
    }
    Ok(Value::list(items))
}
