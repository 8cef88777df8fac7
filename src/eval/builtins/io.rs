//! Builtins that read files, through the evaluator's `Files` (never the disk directly).

use super::{PrimOp, known};
use crate::db::EntryKind;
use crate::eval::Pos;
use crate::eval::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::evaluator::{Evaluator, FileError};
use crate::eval::thunk::Thunk;
use crate::eval::value::{Attr, Attrs, Value};

pub static PRIMOPS: &[PrimOp] = &[
    PrimOp {
        name: "import",
        arity: 1,
        func: import,
    },
    PrimOp {
        name: "readFile",
        arity: 1,
        func: read_file,
    },
    PrimOp {
        name: "readDir",
        arity: 1,
        func: read_dir,
    },
    PrimOp {
        name: "pathExists",
        arity: 1,
        func: path_exists,
    },
    PrimOp {
        name: "readFileType",
        arity: 1,
        func: read_file_type,
    },
    PrimOp {
        name: "getEnv",
        arity: 1,
        func: get_env,
    },
];

fn import(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let path = known!(ev.want_path(&args[0], pos)?);
    ev.import(&path, pos).map_err(|mut e| {
        if let Some(p) = pos {
            e.push_trace(p, format!("while importing '{path}'"));
        }
        e
    })
}

fn missing(what: &str, path: &str, pos: Option<Pos>) -> Box<EvalError> {
    EvalError::new(
        ErrorKind::MissingFile,
        format!("{what} '{path}': No such file or directory"),
        pos,
    )
}

fn read_file(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let path = known!(ev.want_path(&args[0], pos)?);
    let files = ev.files();
    match files.read_text(ev.db(), &path) {
        Ok(source) => Ok(Value::string(source.text(ev.db()).to_string())),
        Err(FileError::NotFound) => Err(missing("opening file", &path, pos)),
        Err(FileError::NotUtf8) => Err(EvalError::eval(
            format!("file '{path}' is not valid UTF-8"),
            pos,
        )),
        Err(FileError::Other(e)) => Err(EvalError::eval(
            format!("reading from file '{path}': {e}"),
            pos,
        )),
        Err(FileError::TooLarge(e)) => Err(EvalError::new(
            ErrorKind::Limit,
            format!("reading from file '{path}': {e}"),
            pos,
        )),
    }
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Regular => "regular",
        EntryKind::Directory => "directory",
        EntryKind::Symlink => "symlink",
        EntryKind::Unknown => "unknown",
    }
}

fn read_dir(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let path = known!(ev.want_path(&args[0], pos)?);
    match ev.files().read_dir(&path) {
        Ok(entries) => Ok(Value::attrs(Attrs::from_unsorted(
            entries
                .into_iter()
                .map(|e| Attr {
                    name: e.name.into(),
                    value: Thunk::value(Value::string(kind_name(e.kind))),
                    pos: None,
                })
                .collect(),
        ))),
        Err(FileError::NotFound) => Err(missing("opening directory", &path, pos)),
        Err(e) => Err(EvalError::eval(
            format!("reading directory '{path}': {e:?}"),
            pos,
        )),
    }
}

fn path_exists(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let path = known!(ev.want_path(&args[0], pos)?);
    Ok(Value::Bool(ev.files().file_type(&path).is_some()))
}

fn read_file_type(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let path = known!(ev.want_path(&args[0], pos)?);
    match ev.files().file_type(&path) {
        Some(kind) => Ok(Value::string(kind_name(kind))),
        None => Err(missing("getting status of", &path, pos)),
    }
}

fn get_env(ev: &mut Evaluator, args: &[Thunk], pos: Option<Pos>) -> EvalResult<Value> {
    let (name, _) = known!(ev.want_string(&args[0], pos)?);
    // Nix's pure evaluation (every flake) answers "" for every variable.
    if ev.is_pure() {
        return Ok(Value::string(""));
    }
    Ok(Value::string(std::env::var(&name).unwrap_or_default()))
}
