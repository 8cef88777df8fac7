//! The JSON renderer: `{"version": 1, "diagnostics": [...], "summary": {...}}`, a shape that
//! scripts and editors rely on. Lines and columns are 1-based; columns count characters.

use serde::Serialize;

use super::{Report, Severity, Sources};

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    file: &'a str,
    /// `null` for a place that is no text file (a directory of the vars tree).
    line: Option<u32>,
    column: Option<u32>,
    end_line: Option<u32>,
    end_column: Option<u32>,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    files: usize,
}

pub fn render_json(report: &Report, sources: &Sources) -> String {
    let diagnostics = report
        .diagnostics
        .iter()
        .map(|d| {
            let text = sources.text(&d.span.file).is_some();
            let start = sources.line_col(&d.span.file, d.span.range.start());
            let end = sources.line_col(&d.span.file, d.span.range.end());
            let known = |n: u32| text.then_some(n);
            JsonDiagnostic {
                code: d.code.as_str(),
                severity: d.severity.as_str(),
                message: &d.message,
                file: &d.span.file,
                line: known(start.line),
                column: known(start.column),
                end_line: known(end.line),
                end_column: known(end.column),
                labels: d
                    .labels
                    .iter()
                    .map(|l| {
                        let at = sources.line_col(&l.span.file, l.span.range.start());
                        JsonLabel {
                            file: &l.span.file,
                            line: at.line,
                            column: at.column,
                            message: &l.message,
                        }
                    })
                    .collect(),
                help: d.help.as_deref(),
            }
        })
        .collect();
    let output = Output {
        version: 1,
        diagnostics,
        summary: Summary {
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            files: report.files,
        },
    };
    // Serializing plain structs of strings and integers cannot fail.
    let mut text = serde_json::to_string_pretty(&output).unwrap_or_default();
    text.push('\n');
    text
}
