//! Loading code: files imported by path (cached per path) and expressions given as text,
//! lowered and registered as modules; files that do not parse are remembered.

use std::rc::Rc;
use std::sync::Arc;

use super::{Evaluator, FileError};
use crate::db::EntryKind;
use crate::eval::Pos;
use crate::eval::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::ir::{Lowered, Module};
use crate::eval::thunk::{Env, Thunk};
use crate::eval::value::Value;

impl Evaluator<'_> {
    /// Notes an import of a file that does not parse, keeping the first error.
    fn unreadable(&mut self, error: Box<EvalError>) -> Box<EvalError> {
        self.unreadable.get_or_insert_with(|| error.clone());
        error
    }

    /// Registers a lowered file and turns its syntax and lowering errors into one error.
    fn load_module(
        &mut self,
        path: String,
        dir: Arc<str>,
        text: Arc<str>,
        lowered: Arc<Lowered>,
    ) -> EvalResult<Rc<Module>> {
        let file = self.add_file(path, text);
        if let Some(e) = lowered.syntax_errors.first() {
            return Err(self.unreadable(EvalError::new(
                ErrorKind::Syntax,
                e.message.clone(),
                Some(Pos {
                    file,
                    range: e.range,
                }),
            )));
        }
        if let Some(e) = lowered.errors.first() {
            let mut err = EvalError::new(
                ErrorKind::Syntax,
                e.message.clone(),
                Some(Pos {
                    file,
                    range: e.range,
                }),
            );
            if let Some(prev) = e.previous {
                err.push_trace(Pos { file, range: prev }, "previously defined here");
            }
            return Err(self.unreadable(err));
        }
        let module = Rc::new(Module::new(lowered, file, dir));
        self.modules.push(module.clone());
        Ok(module)
    }

    /// Evaluates an expression given as text (`clanc eval --expr`), with relative paths
    /// resolved against `dir`. The file is named `«string»` in diagnostics.
    pub fn eval_text(&mut self, text: &str, dir: &str) -> EvalResult<Value> {
        // Lowering gets what is left of the evaluation's stack budget.
        let budget = self.limits.max_stack.saturating_sub(self.stack_used());
        let lowered = crate::eval::lower::lower_parsed(crate::syntax::parse(text), budget);
        let module = self.load_module(
            "«string»".to_string(),
            dir.into(),
            Arc::from(text),
            Arc::new(lowered),
        )?;
        let root = module.root;
        self.eval(&module, root, &Env::root())
    }

    /// Evaluates the file at an absolute path (a directory means its `default.nix`).
    pub fn eval_file(&mut self, path: &str) -> EvalResult<Value> {
        self.import(path, None)
    }

    pub fn import(&mut self, path: &str, pos: Option<Pos>) -> EvalResult<Value> {
        let mut path = path.to_string();
        let is_dir = self.files.file_type(&path) == Some(EntryKind::Directory);
        if is_dir {
            path = format!("{}/default.nix", path.trim_end_matches('/'));
        }
        if let Some(thunk) = self.imports.get(&path).cloned() {
            return self.force(&thunk, pos);
        }
        let source = match self.files.source(self.db, &path) {
            Ok(s) => s,
            Err(FileError::NotFound) => {
                // Nix stats the path it was given, then opens `default.nix` of a directory.
                let what = if is_dir {
                    "opening file"
                } else {
                    "getting status of"
                };
                return Err(EvalError::new(
                    ErrorKind::MissingFile,
                    format!("{what} '{path}': No such file or directory"),
                    pos,
                ));
            }
            Err(FileError::NotUtf8) => {
                return Err(EvalError::eval(
                    format!("file '{path}' is not valid UTF-8"),
                    pos,
                ));
            }
            Err(FileError::Other(e)) => {
                return Err(EvalError::eval(format!("cannot read '{path}': {e}"), pos));
            }
            Err(FileError::TooLarge(e)) => {
                return Err(EvalError::new(
                    ErrorKind::Limit,
                    format!("cannot read '{path}': {e}"),
                    pos,
                ));
            }
        };
        // Half the stack budget for lowering the file (memoised per budget); an import
        // deeper than that into the evaluation's recursion is refused with N005.
        let lower_budget = self.limits.lower_budget();
        if self.stack_used() + lower_budget > self.limits.max_stack {
            return Err(EvalError::new(
                ErrorKind::Limit,
                format!("too little stack left to import '{path}' (possible infinite recursion)"),
                pos,
            ));
        }
        let text = source.text(self.db).clone();
        let lowered = crate::eval::lower::lower_file(self.db, source, lower_budget).clone();
        if !lowered.syntax_errors.is_empty()
            && crate::syntax::sops_document::is_sops_encrypted(&text)
        {
            let reason = format!("'{path}' is encrypted with sops (it is Nix once decrypted)");
            return Ok(self.unknown(reason, pos));
        }
        let dir = crate::eval::lower::dir_of(&path);
        let module = self.load_module(path.clone(), dir.into(), text, lowered)?;
        let thunk = Thunk::code(module.clone(), module.root, Env::root());
        self.imports.insert(path, thunk.clone());
        self.force(&thunk, pos)
    }
}
