//! N001: syntax errors, one diagnostic per error at rnix's range, and the errors Nix's parser
//! also reports that lowering finds (an attribute defined twice, an undefined variable).
//! N006: files that are not UTF-8 (read with replacement characters; Nix accepts such bytes).

use rnix::{TextRange, TextSize};

use crate::db::NotUtf8;
use crate::db::{self, Db, SourceFile};
use crate::diagnostics::Code;
use crate::diagnostics::{Diagnostic, Span};
use crate::eval::lower_file;
use crate::syntax::sops_document::is_sops_encrypted;

/// Stack lowering may use for one file in a check (lowering recurses with the nesting of the
/// file, which the parser already bounds). The evaluator's budget, so that a file's lowering
/// is memoised once for both.
pub const LOWER_STACK_BUDGET: usize = crate::eval::Limits::DEFAULT_LOWER_BUDGET;

pub fn syntax_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    let path = file.path(db);
    if !db::is_nix(path) {
        return Vec::new();
    }
    let span = |range| Span::new(path.clone(), range);
    let lowered = lower_file(db, file, LOWER_STACK_BUDGET);
    let parse_errors = &lowered.syntax_errors;
    if !parse_errors.is_empty() && is_sops_encrypted(file.text(db)) {
        // Not Nix until its owner decrypts it; importing it gives an unknown value.
        return vec![Diagnostic::new(
            Code::N001,
            crate::diagnostics::Severity::Info,
            "the file is encrypted with sops: it is Nix once decrypted, and unknown to clanc",
            span(TextRange::empty(TextSize::from(0))),
        )];
    }
    if !parse_errors.is_empty() {
        // Lowering a broken tree would only repeat what the parse errors say.
        return parse_errors
            .iter()
            .map(|error| Diagnostic::error(Code::N001, error.message.clone(), span(error.range)))
            .collect();
    }
    lowered
        .errors
        .iter()
        .map(|error| {
            let diagnostic =
                Diagnostic::error(Code::N001, error.message.clone(), span(error.range));
            match error.previous {
                Some(previous) => diagnostic.with_label(span(previous), "previously defined here"),
                None => diagnostic,
            }
        })
        .collect()
}

pub fn not_utf8_diagnostic(file: &NotUtf8, text: &str) -> Diagnostic {
    // The lossy text has the same bytes up to the first invalid one.
    let at = TextSize::from(file.offset.min(text.len()) as u32);
    Diagnostic::warning(
        Code::N006,
        "file is not valid UTF-8",
        Span::new(file.path.clone(), TextRange::empty(at)),
    )
    .with_help("clanc reads it with U+FFFD in place of the invalid bytes; save the file as UTF-8")
}
