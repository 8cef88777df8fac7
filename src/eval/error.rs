//! Evaluation errors: what went wrong, where, and the trace of what was being evaluated
//! (innermost first). They become `Diagnostic`s with stable codes:
//! N001 syntax/lowering, N002 evaluation, N003 infinite recursion, N004 missing import,
//! N005 a limit (depth or steps) exceeded.

use super::Pos;
use crate::diagnostics::Code;
use crate::diagnostics::{Diagnostic, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A syntax or lowering error in a file that was evaluated or imported.
    Syntax,
    /// A type error, missing attribute, ... (not catchable by `tryEval`).
    Eval,
    /// `throw`: catchable by `tryEval`.
    Throw,
    /// A failed `assert`: catchable by `tryEval`.
    Assert,
    /// `abort`: not catchable.
    Abort,
    InfiniteRecursion,
    MissingFile,
    Limit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    pub pos: Pos,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    pub kind: ErrorKind,
    pub message: String,
    pub pos: Option<Pos>,
    /// Innermost first.
    pub trace: Vec<TraceEntry>,
}

pub type EvalResult<T> = Result<T, Box<EvalError>>;

/// How many trace entries an error keeps; deep recursion would otherwise make huge traces.
const MAX_TRACE: usize = 32;

impl EvalError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, pos: Option<Pos>) -> Box<EvalError> {
        Box::new(EvalError {
            kind,
            message: message.into(),
            pos,
            trace: Vec::new(),
        })
    }

    pub fn eval(message: impl Into<String>, pos: Option<Pos>) -> Box<EvalError> {
        EvalError::new(ErrorKind::Eval, message, pos)
    }

    /// Whether `builtins.tryEval` turns this error into `{ success = false; }`.
    pub fn is_catchable(&self) -> bool {
        matches!(self.kind, ErrorKind::Throw | ErrorKind::Assert)
    }

    pub fn code(&self) -> Code {
        match self.kind {
            ErrorKind::Syntax => Code::N001,
            ErrorKind::Eval | ErrorKind::Throw | ErrorKind::Assert | ErrorKind::Abort => Code::N002,
            ErrorKind::InfiniteRecursion => Code::N003,
            ErrorKind::MissingFile => Code::N004,
            ErrorKind::Limit => Code::N005,
        }
    }

    pub fn push_trace(&mut self, pos: Pos, message: impl Into<String>) {
        if self.trace.len() < MAX_TRACE
            && self.pos != Some(pos)
            && self.trace.last().map(|t| t.pos) != Some(pos)
        {
            self.trace.push(TraceEntry {
                pos,
                message: message.into(),
            });
        }
    }

    /// The diagnostic for this error; `path` names a file id, `fallback` is the span used
    /// when the error has no position of its own.
    pub fn to_diagnostic(
        &self,
        path: &dyn Fn(super::FileId) -> String,
        fallback: Span,
    ) -> Diagnostic {
        let span_of = |pos: Pos| Span::new(path(pos.file), pos.range);
        let (span, labels_from) = match self.pos {
            Some(pos) => (span_of(pos), 0),
            None => match self.trace.first() {
                Some(t) => (span_of(t.pos), 1),
                None => (fallback, 0),
            },
        };
        let mut diagnostic = Diagnostic::error(self.code(), self.message.clone(), span);
        for entry in self.trace.iter().skip(labels_from) {
            diagnostic = diagnostic.with_label(span_of(entry.pos), entry.message.clone());
        }
        diagnostic
    }
}
