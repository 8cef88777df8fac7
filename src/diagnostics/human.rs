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
    let mut out = render_diagnostics(&report.diagnostics, sources, color, width);
    out.push_str(&summary_line(report));
    out
}

/// The diagnostics alone, without the summary line of a check (for a command that reports one
/// problem, such as a stale plan).
pub fn render_diagnostics(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    color: bool,
    width: usize,
) -> String {
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
    for diagnostic in diagnostics {
        out.push_str(&render_one(&handler, diagnostic, sources));
        out.push('\n');
    }
    out
}

/// The longest line (in characters) clanc lets miette draw a snippet of. miette formats the
/// underline's indent with a `{:width$}` argument, and Rust panics on a width past `u16::MAX`;
/// a character is at most 4 columns wide (a tab), so 10,000 characters stay well below it. A
/// snippet of a longer line (a minified `inventory.json`) is unreadable anyway.
const MAX_SNIPPET_LINE: usize = 10_000;

/// One diagnostic as miette draws it, or in the plain form when a span points into a line too
/// long to draw or outside its file.
fn render_one(handler: &GraphicalReportHandler, d: &Diagnostic, sources: &Sources) -> String {
    if drawable(d, sources) {
        let shown = Shown::new(d, sources);
        let mut drawn = String::new();
        // Rendering into a String only fails on a span miette cannot read: then the plain form.
        if handler.render_report(&mut drawn, &shown).is_ok() {
            return drawn;
        }
    }
    render_plain(d, sources)
}

/// Whether every line a span of `d` touches is short enough for a snippet.
fn drawable(d: &Diagnostic, sources: &Sources) -> bool {
    std::iter::once(&d.span)
        .chain(d.labels.iter().map(|l| &l.span))
        .all(|span| match sources.text(&span.file) {
            Some(text) => lines_are_short(text, span.range),
            None => true,
        })
}

/// Whether `range` lies in `text` and the lines from the one holding its start to the one
/// holding its end are each at most [`MAX_SNIPPET_LINE`] characters.
fn lines_are_short(text: &str, range: rnix::TextRange) -> bool {
    let (start, end) = (usize::from(range.start()), usize::from(range.end()));
    if !(text.is_char_boundary(start) && text.is_char_boundary(end)) {
        return false;
    }
    let first = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let last = text[end..].find('\n').map_or(text.len(), |i| end + i);
    text[first..last]
        .split('\n')
        .all(|line| line.len() <= MAX_SNIPPET_LINE || line.chars().count() <= MAX_SNIPPET_LINE)
}

/// The plain form of a diagnostic: its code, message, `file:line:col` of each span and its
/// help, without snippets.
fn render_plain(d: &Diagnostic, sources: &Sources) -> String {
    let at = |span: &super::Span| {
        let lc = sources.line_col(&span.file, span.range.start());
        format!("{}:{}:{}", span.file, lc.line, lc.column)
    };
    let mut out = format!(
        "{}[{}]: {}\n  --> {}\n",
        d.severity.as_str(),
        d.code,
        d.message,
        at(&d.span)
    );
    for label in &d.labels {
        out.push_str(&format!("  note: {}: {}\n", at(&label.span), label.message));
    }
    if let Some(help) = &d.help {
        out.push_str(&format!("  help: {help}\n"));
    }
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
            code: Some(d.code.as_str()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{Code, Label, Span};
    use rnix::{TextRange, TextSize};

    fn range(start: usize, end: usize) -> TextRange {
        TextRange::new(
            TextSize::from(u32::try_from(start).unwrap()),
            TextSize::from(u32::try_from(end).unwrap()),
        )
    }

    /// A one-line file of `len` characters with a mistake `name` at its end, as in a minified
    /// `inventory.json`.
    fn long_line(len: usize) -> (Arc<str>, usize) {
        let mut text = String::from("{\"machines\":{\"a\":\"");
        text.push_str(&"x".repeat(len));
        text.push_str("\"},\"oops\":1}\n");
        let at = text.find("\"oops\"").unwrap();
        (Arc::from(text), at)
    }

    #[test]
    fn a_span_past_column_65535_falls_back_to_the_plain_form() {
        let (text, at) = long_line(100_000);
        let mut sources = Sources::new();
        sources.insert("inventory.json", text.clone());
        let mut d = Diagnostic::new(
            Code::M001,
            Severity::Error,
            "unknown key `oops`",
            Span::new("inventory.json", range(at, at + 6)),
        );
        d.labels.push(Label {
            span: Span::new("inventory.json", range(1, 11)),
            message: "in this object".to_string(),
        });
        d.help = Some("remove it".to_string());
        let report = Report::new(vec![d], 1);
        for color in [false, true] {
            let out = render_human(&report, &sources, color, 100);
            let column = at + 1;
            assert!(
                out.starts_with(&format!(
                    "error[M001]: unknown key `oops`\n  --> inventory.json:1:{column}\n  \
                     note: inventory.json:1:2: in this object\n  help: remove it\n"
                )),
                "{out}"
            );
            // No snippet: the long line is not copied into the report.
            assert!(!out.contains(&"x".repeat(100)), "{out}");
        }
    }

    #[test]
    fn a_short_line_in_the_same_file_is_still_drawn() {
        let mut text = String::from("{ a = 1 + true; }\n");
        text.push_str(&"#".repeat(100_000));
        text.push('\n');
        let mut sources = Sources::new();
        sources.insert("f.nix", Arc::from(text));
        let d = Diagnostic::new(
            Code::N002,
            Severity::Error,
            "cannot add",
            Span::new("f.nix", range(6, 14)),
        );
        let out = render_human(&Report::new(vec![d], 1), &sources, false, 100);
        assert!(out.contains("1 + true"), "{out}");
        assert!(!out.contains("  --> f.nix:1:7"), "{out}");
    }

    #[test]
    fn a_span_past_the_end_of_its_file_is_plain() {
        let mut sources = Sources::new();
        sources.insert("f.nix", Arc::from("1\n"));
        let d = Diagnostic::new(
            Code::N002,
            Severity::Error,
            "broken",
            Span::new("f.nix", range(50, 60)),
        );
        let out = render_human(&Report::new(vec![d], 1), &sources, false, 100);
        assert!(
            out.starts_with("error[N002]: broken\n  --> f.nix:"),
            "{out}"
        );
    }

    #[test]
    fn lines_are_short_measures_every_line_a_range_touches() {
        let long = "y".repeat(MAX_SNIPPET_LINE + 1);
        let text = format!("ab\n{long}\ncd\n");
        assert!(lines_are_short(&text, range(0, 2)));
        assert!(!lines_are_short(&text, range(0, 5)));
        assert!(!lines_are_short(&text, range(4, 4)));
        let end = text.len();
        assert!(lines_are_short(&text, range(end - 3, end - 1)));
        assert!(!lines_are_short(&text, range(end + 10, end + 20)));
    }
}
