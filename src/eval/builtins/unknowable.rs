//! Builtins whose results clanc cannot know without a store, a network or the host:
//! fetchers, store copies, derivation outputs, the current system. They return `unknown`
//! values that say why.

use std::rc::Rc;

use super::{PrimOp, known};
use crate::eval::Pos;
use crate::eval::error::{EvalError, EvalResult};
use crate::eval::evaluator::Evaluator;
use crate::eval::thunk::Thunk;
use crate::eval::unknown::Unknown;
use crate::eval::value::{Attr, Attrs, Value};

/// Constants of the `builtins` set that are unknown.
pub static CONSTANTS: &[(&str, &str)] = &[
    (
        "currentSystem",
        "builtins.currentSystem (the evaluating host's system)",
    ),
    ("currentTime", "builtins.currentTime"),
    ("nixPath", "builtins.nixPath (NIX_PATH is not modelled)"),
];

macro_rules! unknowable {
    ($fn_name:ident, $what:expr) => {
        fn $fn_name(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
            let _ = (&ev, args);
            Ok(Value::Unknown(Rc::new(Unknown::new($what, pos))))
        }
    };
}

unknowable!(
    fetch_tarball,
    "the result of builtins.fetchTarball (clanc does not fetch)"
);
unknowable!(
    fetch_git,
    "the result of builtins.fetchGit (clanc does not fetch)"
);
unknowable!(
    fetch_url,
    "the result of builtins.fetchurl (clanc does not fetch)"
);
unknowable!(
    fetch_tree,
    "the result of builtins.fetchTree (clanc does not fetch)"
);
unknowable!(
    fetch_mercurial,
    "the result of builtins.fetchMercurial (clanc does not fetch)"
);
unknowable!(
    get_flake,
    "the result of builtins.getFlake (clanc does not fetch)"
);
unknowable!(
    path,
    "the store path of builtins.path (clanc does not copy to the store)"
);
unknowable!(
    filter_source,
    "the store path of builtins.filterSource (clanc does not copy to the store)"
);
unknowable!(
    to_file,
    "the store path of builtins.toFile (clanc does not write to the store)"
);
unknowable!(store_path, "builtins.storePath (clanc has no store)");
unknowable!(find_file, "a search path lookup (NIX_PATH is not modelled)");

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "fetchTarball",
        arity: 1,
        func: fetch_tarball,
    },
    PrimOp {
        name: "fetchGit",
        arity: 1,
        func: fetch_git,
    },
    PrimOp {
        name: "fetchurl",
        arity: 1,
        func: fetch_url,
    },
    PrimOp {
        name: "fetchTree",
        arity: 1,
        func: fetch_tree,
    },
    PrimOp {
        name: "fetchMercurial",
        arity: 1,
        func: fetch_mercurial,
    },
    PrimOp {
        name: "getFlake",
        arity: 1,
        func: get_flake,
    },
    PrimOp {
        name: "path",
        arity: 1,
        func: path,
    },
    PrimOp {
        name: "filterSource",
        arity: 2,
        func: filter_source,
    },
    PrimOp {
        name: "toFile",
        arity: 2,
        func: to_file,
    },
    PrimOp {
        name: "storePath",
        arity: 1,
        func: store_path,
    },
    PrimOp {
        name: "findFile",
        arity: 2,
        func: find_file,
    },
    PrimOp {
        name: "derivation",
        arity: 1,
        func: derivation,
    },
];

/// `derivation`: the attributes it was given plus `type`, with unknown output paths.
fn derivation(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let attrs = known!(ev.want_attrs(&args[0], pos)?);
    let name = match attrs.get("name") {
        Some(t) => known!(ev.want_string(&t.clone(), pos)?).0,
        None => return Err(EvalError::eval("required attribute 'name' missing", pos)),
    };
    let unknown = |what: &str| {
        Thunk::value(Value::Unknown(Rc::new(Unknown::new(
            format!("the {what} of derivation '{name}' (clanc does not build)"),
            pos,
        ))))
    };
    let extra = Attrs::from_unsorted(vec![
        Attr {
            name: "type".into(),
            value: Thunk::value(Value::string("derivation")),
            pos: None,
        },
        Attr {
            name: "outPath".into(),
            value: unknown("output path"),
            pos: None,
        },
        Attr {
            name: "drvPath".into(),
            value: unknown("store derivation path"),
            pos: None,
        },
        Attr {
            name: "outputName".into(),
            value: Thunk::value(Value::string("out")),
            pos: None,
        },
        Attr {
            name: "drvAttrs".into(),
            value: args[0].clone(),
            pos: None,
        },
    ]);
    Ok(Value::attrs(attrs.update(&extra)))
}
