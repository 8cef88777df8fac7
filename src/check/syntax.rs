//! N001: syntax errors, one diagnostic per error at rnix's range. N006: files that are not
//! UTF-8 (read with replacement characters; Nix itself accepts such bytes in strings).

use rnix::{TextRange, TextSize};

use crate::db::{self, Db, SourceFile};
use crate::diagnostics::{Diagnostic, Span};
use crate::loader::NotUtf8;

pub fn syntax_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    if !db::is_nix(file.path(db)) {
        return Vec::new();
    }
    db::parse(db, file)
        .errors
        .iter()
        .map(|error| {
            Diagnostic::error(
                "N001",
                error.message.clone(),
                Span::new(file.path(db).clone(), error.range),
            )
        })
        .collect()
}

pub fn not_utf8_diagnostic(file: &NotUtf8, text: &str) -> Diagnostic {
    // The lossy text has the same bytes up to the first invalid one.
    let at = TextSize::from(file.offset.min(text.len()) as u32);
    Diagnostic::warning(
        "N006",
        "file is not valid UTF-8",
        Span::new(file.path.clone(), TextRange::empty(at)),
    )
    .with_help("clanc reads it with U+FFFD in place of the invalid bytes; save the file as UTF-8")
}
