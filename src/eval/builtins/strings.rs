//! Builtins on strings (and path names as strings).

use super::{PrimOp, known};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::{Evaluator, canon_path};
use crate::eval::thunk::Thunk;
use crate::eval::value::Value;

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "baseNameOf",
        arity: 1,
        func: base_name_of,
    },
    PrimOp {
        name: "dirOf",
        arity: 1,
        func: dir_of,
    },
    PrimOp {
        name: "concatStringsSep",
        arity: 2,
        func: concat_strings_sep,
    },
    PrimOp {
        name: "replaceStrings",
        arity: 3,
        func: replace_strings,
    },
    PrimOp {
        name: "stringLength",
        arity: 1,
        func: string_length,
    },
    PrimOp {
        name: "substring",
        arity: 3,
        func: substring,
    },
    PrimOp {
        name: "toString",
        arity: 1,
        func: to_string,
    },
    PrimOp {
        name: "unsafeDiscardStringContext",
        arity: 1,
        func: discard_context,
    },
    PrimOp {
        name: "unsafeDiscardOutputDependency",
        arity: 1,
        func: discard_context,
    },
    PrimOp {
        name: "hasContext",
        arity: 1,
        func: has_context,
    },
    PrimOp {
        name: "getContext",
        arity: 1,
        func: get_context,
    },
    PrimOp {
        name: "toPath",
        arity: 1,
        func: to_path,
    },
    PrimOp {
        name: "hashString",
        arity: 2,
        func: hash_string,
    },
    PrimOp {
        name: "placeholder",
        arity: 1,
        func: placeholder,
    },
];

/// Nix strings are bytes; ours are UTF-8. Byte-level cuts that split a character are
/// repaired with replacement characters (Nix would keep the raw bytes).
fn from_bytes(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn base_name_of(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, ctx) = known!(ev.want_coerced(&args[0], pos, false, false)?);
    let trimmed = if s.len() > 1 && s.ends_with('/') {
        &s[..s.len() - 1]
    } else {
        &s[..]
    };
    let base = match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    };
    Ok(Value::string_with(base, ctx))
}

fn dir_of(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let v = ev.force(&args[0], pos)?;
    let is_path = matches!(v, Value::Path(_));
    let (s, ctx) = known!(ev.want_coerced(&Thunk::value(v), pos, false, false)?);
    let dir = match s.rfind('/') {
        None => ".".to_string(),
        Some(0) => "/".to_string(),
        Some(i) => s[..i].to_string(),
    };
    if is_path {
        Ok(Value::Path(canon_path(&dir).into()))
    } else {
        Ok(Value::string_with(dir, ctx))
    }
}

fn concat_strings_sep(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (sep, mut ctx) = known!(ev.want_string(&args[0], pos)?);
    let list = known!(ev.want_list(&args[1], pos)?);
    let mut out = String::new();
    for (i, item) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        let (s, c) = known!(ev.want_coerced(item, pos, false, true)?);
        out.push_str(&s);
        ctx |= c;
    }
    Ok(Value::string_with(out, ctx))
}

fn replace_strings(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let from = known!(ev.want_list(&args[0], pos)?);
    let to = known!(ev.want_list(&args[1], pos)?);
    let (s, mut ctx) = known!(ev.want_string(&args[2], pos)?);
    if from.len() != to.len() {
        return Err(EvalError::eval(
            "'from' and 'to' arguments to 'replaceStrings' have different lengths",
            pos,
        ));
    }
    let mut pats = Vec::with_capacity(from.len());
    for f in from.iter() {
        pats.push(known!(ev.want_string(f, pos)?).0);
    }
    let mut replacements: Vec<Option<String>> = vec![None; to.len()];
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut p = 0;
    while p <= bytes.len() {
        let mut found = false;
        for (k, pat) in pats.iter().enumerate() {
            if bytes[p..].starts_with(pat.as_bytes()) {
                found = true;
                if replacements[k].is_none() {
                    let (r, c) = known!(ev.want_string(&to[k], pos)?);
                    ctx |= c;
                    replacements[k] = Some(r);
                }
                if let Some(r) = &replacements[k] {
                    out.extend_from_slice(r.as_bytes());
                }
                if pat.is_empty() {
                    if p < bytes.len() {
                        out.push(bytes[p]);
                    }
                    p += 1;
                } else {
                    p += pat.len();
                }
                break;
            }
        }
        if !found {
            if p < bytes.len() {
                out.push(bytes[p]);
            }
            p += 1;
        }
    }
    Ok(Value::string_with(from_bytes(&out), ctx))
}

fn string_length(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, _) = known!(ev.want_coerced(&args[0], pos, false, true)?);
    Ok(Value::Int(s.len() as i64))
}

fn substring(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let start = known!(ev.want_int(&args[0], pos)?);
    let len = known!(ev.want_int(&args[1], pos)?);
    let (s, ctx) = known!(ev.want_coerced(&args[2], pos, false, true)?);
    if start < 0 {
        return Err(EvalError::eval(
            "negative start position in 'substring'",
            pos,
        ));
    }
    let bytes = s.as_bytes();
    let start = (start as usize).min(bytes.len());
    let end = if len < 0 {
        bytes.len()
    } else {
        start.saturating_add(len as usize).min(bytes.len())
    };
    Ok(Value::string_with(from_bytes(&bytes[start..end]), ctx))
}

fn to_string(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, ctx) = known!(ev.want_coerced(&args[0], pos, true, false)?);
    Ok(Value::string_with(s, ctx))
}

fn discard_context(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (s, _) = known!(ev.want_string(&args[0], pos)?);
    Ok(Value::string(s))
}

fn to_path(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let p = known!(ev.want_path(&args[0], pos)?);
    Ok(Value::string(p))
}

pub(super) fn hash_hex(kind: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    let bytes: Vec<u8> = match kind {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn hash_string(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (kind, _) = known!(ev.want_string(&args[0], pos)?);
    let (s, _) = known!(ev.want_string(&args[1], pos)?);
    match hash_hex(&kind, s.as_bytes()) {
        Some(h) => Ok(Value::string(h)),
        None => Err(EvalError::eval(
            format!("unknown hash algorithm '{kind}'"),
            pos,
        )),
    }
}

/// Nix's base-32 alphabet (no e, o, u, t) and bit order.
pub(crate) fn nix_base32(hash: &[u8]) -> String {
    const CHARS: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
    let len = (hash.len() * 8 - 1) / 5 + 1;
    let mut out = String::with_capacity(len);
    for n in (0..len).rev() {
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let lo = hash.get(i).map_or(0, |&x| u32::from(x) >> j);
        let hi = if i + 1 < hash.len() {
            u32::from(hash[i + 1]) << (8 - j)
        } else {
            0
        };
        out.push(CHARS[((lo | hi) & 0x1f) as usize] as char);
    }
    out
}

fn placeholder(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    use sha2::Digest;
    let (output, _) = known!(ev.want_string(&args[0], pos)?);
    let digest = sha2::Sha256::digest(format!("nix-output:{output}").as_bytes());
    Ok(Value::string(format!("/{}", nix_base32(&digest))))
}

fn has_context(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (_, ctx) = known!(ev.want_string(&args[0], pos)?);
    Ok(Value::Bool(ctx))
}

/// clanc knows whether a string has context but not which store paths it names.
fn get_context(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (_, ctx) = known!(ev.want_string(&args[0], pos)?);
    if ctx {
        Ok(ev.unknown(
            "the store paths a string refers to (clanc tracks only that there are some)",
            pos,
        ))
    } else {
        Ok(Value::attrs(crate::eval::value::Attrs::default()))
    }
}
