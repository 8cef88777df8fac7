//! The human renderer: rustc-style reports with source snippets, drawn by miette.
//! Labels in the primary file are drawn in its snippet; labels in other files follow as notes
//! with their own snippets.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::{Diagnostic, Report, Severity, Sources};

/// Whether the human output is coloured (`--color`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Decides for a stream that is (or is not) a terminal, honouring `NO_COLOR`.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Renders every diagnostic and a closing summary line. `width` is the wrapping width.
pub fn render_human(report: &Report, sources: &Sources, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false)
        .without_syntax_highlighting();
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let shown = Shown::new(diagnostic, sources);
        if handler.render_report(&mut out, &shown).is_err() {
            // Rendering into a String only fails on a broken source span; fall back to a line.
            out.push_str(&format!(
                "{}[{}]: {}\n",
                diagnostic.severity.as_str(),
                diagnostic.code,
                diagnostic.message
            ));
        }
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out
}

fn summary_line(report: &Report) -> String {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let files = report.files;
    let mut what = format!("{files} {}", plural(files, "file", "files"));
    if let (Some(m), Some(i)) = (report.machines, report.instances) {
        what.push_str(&format!(
            ", {m} {}, {i} {}",
            plural(m, "machine", "machines"),
            plural(i, "instance", "instances")
        ));
    }
    let time = match report.elapsed_ms {
        Some(ms) => format!(" in {ms} ms"),
        None => String::new(),
    };
    let unknown = match &report.clan_unknown {
        Some(reason) => format!("\nthe clan itself was not checked: {reason}\n"),
        None => String::new(),
    };
    format!(
        "checked {what}: {errors} {}, {warnings} {}{time}\n{unknown}",
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings"),
    )
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// One diagnostic as miette sees it.
struct Shown {
    code: Option<&'static str>,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: Option<FileText>,
    labels: Vec<LabeledSpan>,
    related: Vec<Shown>,
}

impl Shown {
    fn new(d: &Diagnostic, sources: &Sources) -> Shown {
        let source = sources
            .text(&d.span.file)
            .map(|text| FileText::new(&d.span.file, text));
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            None,
            to_span(d.span.range),
        )];
        let mut related = Vec::new();
        for label in &d.labels {
            if label.span.file == d.span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(label.message.clone()),
                    to_span(label.span.range),
                ));
            } else {
                related.push(Shown {
                    code: None,
                    severity: miette::Severity::Advice,
                    message: label.message.clone(),
                    help: None,
                    source: sources
                        .text(&label.span.file)
                        .map(|text| FileText::new(&label.span.file, text)),
                    labels: vec![LabeledSpan::new_primary_with_span(
                        None,
                        to_span(label.span.range),
                    )],
                    related: Vec::new(),
                });
            }
        }
        Shown {
            code: Some(d.code),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            },
            message: d.message.clone(),
            help: d.help.clone(),
            source,
            labels,
            related,
        }
    }
}

fn to_span(range: rnix::TextRange) -> SourceSpan {
    SourceSpan::new(usize::from(range.start()).into(), usize::from(range.len()))
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown {}

impl miette::Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        // Without the text there is nothing to draw labels on.
        self.source.as_ref()?;
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

/// A named file text whose reported columns count characters, as everywhere else in clanc
/// (miette's own count is in bytes).
struct FileText {
    name: String,
    text: Arc<str>,
}

impl FileText {
    fn new(name: &str, text: &Arc<str>) -> FileText {
        FileText {
            name: name.to_string(),
            text: text.clone(),
        }
    }
}

impl SourceCode for FileText {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_ref()
                .read_span(span, context_lines_before, context_lines_after)?;
        let byte_column = inner.column();
        let column = span
            .offset()
            .checked_sub(byte_column)
            .and_then(|line_start| self.text.get(line_start..span.offset()))
            .map_or(byte_column, |s| s.chars().count());
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}
