//! The `Diagnostic` every layer reports (a stable code, a severity, a message, a primary span,
//! secondary labels, optional help) and its renderers: human (miette), JSON and GitHub.

mod code;
mod github;
mod human;
mod json;
mod sources;

pub use code::Code;
pub use github::render_github;
pub use human::{ColorChoice, render_diagnostics, render_human};
pub use json::render_json;
pub use sources::Sources;

use std::sync::Arc;

use rnix::TextRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A place in a file of the checked clan: the file's path relative to the clan directory
/// (always with `/`) and a byte range in its text. The path is shared: a model holds
/// thousands of spans and is copied whole when an edit only moves them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: Arc<str>,
    pub range: TextRange,
}

impl Span {
    pub fn new(file: impl Into<Arc<str>>, range: TextRange) -> Span {
        Span {
            file: file.into(),
            range,
        }
    }
}

/// A secondary place that explains the diagnostic ("previously defined here").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Stable code, documented in `docs/diagnostics.md` (`N001`, `C002`, ...).
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(
        code: Code,
        severity: Severity,
        message: impl Into<String>,
        span: Span,
    ) -> Diagnostic {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn error(code: Code, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic::new(code, Severity::Error, message, span)
    }

    pub fn warning(code: Code, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic::new(code, Severity::Warning, message, span)
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// The outcome of one check: its diagnostics in a stable order and how many files were read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
    /// What the model held, for the summary line (none when no model was built).
    pub machines: Option<usize>,
    pub instances: Option<usize>,
    /// Why the clan itself was not checked (it could not be read), for the summary line.
    pub clan_unknown: Option<String>,
    /// How long the check took, in milliseconds.
    pub elapsed_ms: Option<u128>,
}

impl Report {
    pub fn new(mut diagnostics: Vec<Diagnostic>, files: usize) -> Report {
        diagnostics.sort_by(|a, b| {
            (&a.span.file, a.span.range.start(), a.code, &a.message).cmp(&(
                &b.span.file,
                b.span.range.start(),
                b.code,
                &b.message,
            ))
        });
        Report {
            diagnostics,
            files,
            ..Report::default()
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}
