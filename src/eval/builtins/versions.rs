//! Version strings: `compareVersions`, `splitVersion`, `parseDrvName`.

use super::{PrimOp, known, make_attrs};
use crate::eval::Pos;
use crate::eval::error::EvalResult;
use crate::eval::evaluator::Evaluator;
use crate::eval::thunk::Thunk;
use crate::eval::value::Value;

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "compareVersions",
        arity: 2,
        func: compare_versions,
    },
    PrimOp {
        name: "splitVersion",
        arity: 1,
        func: split_version,
    },
    PrimOp {
        name: "parseDrvName",
        arity: 1,
        func: parse_drv_name,
    },
];

/// The next component of a version: a run of digits, or a run of other characters that are
/// not separators (`.`, `-`). Separators before it are skipped. Empty at the end.
fn next_component<'s>(s: &'s [u8], p: &mut usize) -> &'s [u8] {
    while *p < s.len() && (s[*p] == b'.' || s[*p] == b'-') {
        *p += 1;
    }
    let start = *p;
    if *p < s.len() && s[*p].is_ascii_digit() {
        while *p < s.len() && s[*p].is_ascii_digit() {
            *p += 1;
        }
    } else {
        while *p < s.len() && !s[*p].is_ascii_digit() && s[*p] != b'.' && s[*p] != b'-' {
            *p += 1;
        }
    }
    &s[start..*p]
}

fn as_number(c: &[u8]) -> Option<u64> {
    if c.is_empty() || !c.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(c).ok()?.parse().ok()
}

fn component_less(a: &[u8], b: &[u8]) -> bool {
    let (na, nb) = (as_number(a), as_number(b));
    match (na, nb) {
        (Some(x), Some(y)) => x < y,
        _ if a.is_empty() && nb.is_some() => true,
        _ if a == b"pre" && b != b"pre" => true,
        _ if b == b"pre" => false,
        (_, Some(_)) => true,
        (Some(_), _) => false,
        _ => a < b,
    }
}

pub fn compare(a: &str, b: &str) -> i64 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut p, mut q) = (0, 0);
    while p < a.len() || q < b.len() {
        let x = next_component(a, &mut p);
        let y = next_component(b, &mut q);
        if component_less(x, y) {
            return -1;
        }
        if component_less(y, x) {
            return 1;
        }
    }
    0
}

fn compare_versions(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (a, _) = known!(ev.want_string(&args[0], pos)?);
    let (b, _) = known!(ev.want_string(&args[1], pos)?);
    Ok(Value::Int(compare(&a, &b)))
}

fn split_version(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, _) = known!(ev.want_string(&args[0], pos)?);
    let bytes = s.as_bytes();
    let mut p = 0;
    let mut out = Vec::new();
    while p < bytes.len() {
        let c = next_component(bytes, &mut p);
        if c.is_empty() {
            break;
        }
        out.push(Thunk::value(Value::string(
            String::from_utf8_lossy(c).into_owned(),
        )));
    }
    Ok(Value::list(out))
}

fn parse_drv_name(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, _) = known!(ev.want_string(&args[0], pos)?);
    let bytes = s.as_bytes();
    let mut name = s.clone();
    let mut version = String::new();
    for i in 0..bytes.len() {
        if bytes[i] == b'-' && i + 1 < bytes.len() && !bytes[i + 1].is_ascii_alphabetic() {
            name = s[..i].to_string();
            version = s[i + 1..].to_string();
            break;
        }
    }
    Ok(make_attrs(vec![
        ("name", Value::string(name)),
        ("version", Value::string(version)),
    ]))
}
