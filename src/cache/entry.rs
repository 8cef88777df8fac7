//! What an entry holds (serialized as JSON: serde derives it, a damaged file fails to parse
//! rather than to mislead, and an entry can be read by eye when a cached answer is in
//! doubt; vanixiets' 225 KB parse in under a millisecond): the clanc that
//! wrote it, each file's digest and syntax diagnostics, and the model's part (what the
//! evaluation read, as digests, and what the model and the checker's rules reported). No
//! file text and no secret: diagnostics, paths and digests only.

use std::collections::HashMap;
use std::sync::Arc;

use rnix::{TextRange, TextSize};
use serde::{Deserialize, Serialize};

use super::identity::Identity;
use super::observed::Observed;
use super::snapshot::Snapshot;
use crate::diagnostics::{Code, Diagnostic, Severity, Span};

#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub identity: Identity,
    /// The clan directory (absolute), as the analysis was given it.
    pub root: String,
    /// Every file of the workspace, in the workspace's order.
    pub files: Vec<FileEntry>,
    pub model: ModelEntry,
    /// The state of the paths the clan was loaded from, when it could be trusted.
    #[serde(default)]
    pub snapshot: Option<Snapshot>,
}

/// One file of the workspace: its text's digest and what `check::syntax_diagnostics` said of
/// it (before syntax errors in files the evaluation never read become information).
#[derive(Debug, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub diagnostics: Vec<CachedDiagnostic>,
}

/// The model's part: valid while every question the evaluation asked is answered the same,
/// the workspace facts the model read beside it are the same, the vars directories are the
/// same and the sops files say the same.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelEntry {
    /// Digest of `model::WorkspaceFacts` (`flake.lock`'s text, whether there is a flake.nix).
    pub workspace_facts: String,
    /// Whether there is a flake.nix (syntax errors of unread files are information only then).
    pub has_flake: bool,
    /// Every question the evaluation asked of the files, with its answer's digest.
    pub observed: Vec<Observed>,
    /// Digest of the listing of `vars/` the checks read (`analysis::vars_listing`).
    pub vars_listing: String,
    /// The legacy sops-nix files the model's machines name, `(path, format)`, and the digest
    /// of the sops facts read for them and the vars tree (`vars::facts`).
    pub legacy_sops_files: Vec<(String, String)>,
    pub sops_facts: String,
    /// The model's diagnostics, then the checker's, before they are merged with the syntax
    /// diagnostics.
    pub diagnostics: Vec<CachedDiagnostic>,
    /// N000 notes (with `--explain-unknown`).
    pub notes: Vec<CachedDiagnostic>,
    /// Every file the model's diagnostics and notes point into, with its digest then (`None`:
    /// not a file of the workspace): their snippets are shown from the file as it is now.
    pub span_files: Vec<(String, Option<String>)>,
    pub summary: Summary,
}

/// What the report's summary line says of the model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub machines: usize,
    pub instances: usize,
    /// Why the clan as a whole is unknown (then machines and instances are not shown).
    pub unknown: Option<String>,
}

impl Summary {
    pub fn of(clan: &crate::model::Clan) -> Summary {
        Summary {
            machines: clan.machines.len(),
            instances: clan.instances.len(),
            unknown: clan.unknown_reason().map(str::to_string),
        }
    }
}

/// A diagnostic as an entry keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedDiagnostic {
    pub code: String,
    pub severity: String,
    pub message: String,
    pub span: CachedSpan,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(CachedSpan, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// A span: file, start and end byte offsets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSpan(pub String, pub u32, pub u32);

impl CachedDiagnostic {
    pub fn of(d: &Diagnostic) -> CachedDiagnostic {
        CachedDiagnostic {
            code: d.code.as_str().to_string(),
            severity: d.severity.as_str().to_string(),
            message: d.message.clone(),
            span: CachedSpan::of(&d.span),
            labels: (d.labels.iter())
                .map(|l| (CachedSpan::of(&l.span), l.message.clone()))
                .collect(),
            help: d.help.clone(),
        }
    }

    /// The diagnostic, when its code and severity exist and every span lies in its file's
    /// text (`texts`: the files as loaded now) on character boundaries; a span in a file
    /// that is not loaded only needs to be a range. `None` means the entry is damaged.
    pub fn restore(&self, texts: &HashMap<String, Arc<str>>) -> Option<Diagnostic> {
        let severity = match self.severity.as_str() {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            _ => return None,
        };
        let mut d = Diagnostic::new(
            Code::parse(&self.code)?,
            severity,
            self.message.clone(),
            self.span.restore(texts)?,
        );
        for (span, message) in &self.labels {
            d = d.with_label(span.restore(texts)?, message.clone());
        }
        d.help = self.help.clone();
        Some(d)
    }
}

impl CachedSpan {
    fn of(span: &Span) -> CachedSpan {
        CachedSpan(
            span.file.to_string(),
            span.range.start().into(),
            span.range.end().into(),
        )
    }

    fn restore(&self, texts: &HashMap<String, Arc<str>>) -> Option<Span> {
        let CachedSpan(file, start, end) = self;
        if start > end {
            return None;
        }
        if let Some(text) = texts.get(file) {
            let fits = |at: u32| text.is_char_boundary(at as usize);
            if !(fits(*start) && fits(*end)) {
                return None;
            }
        }
        let range = TextRange::new(TextSize::from(*start), TextSize::from(*end));
        Some(Span::new(file.as_str(), range))
    }
}

/// Every diagnostic of `cached`, or `None` when one is damaged.
pub fn restore_all(
    cached: &[CachedDiagnostic],
    texts: &HashMap<String, Arc<str>>,
) -> Option<Vec<Diagnostic>> {
    cached.iter().map(|d| d.restore(texts)).collect()
}

pub fn cache_all(diagnostics: &[Diagnostic]) -> Vec<CachedDiagnostic> {
    diagnostics.iter().map(CachedDiagnostic::of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_round_trips_and_a_damaged_one_is_refused() {
        let texts: HashMap<String, Arc<str>> =
            [("a.nix".to_string(), Arc::from("{ é = 1; }"))].into();
        let span = |file: &str, s: u32, e: u32| Span::new(file, TextRange::new(s.into(), e.into()));
        let d = Diagnostic::warning(Code::C007, "twice", span("a.nix", 2, 4))
            .with_label(span("b.nix", 0, 1), "first here")
            .with_help("remove one");
        let cached = CachedDiagnostic::of(&d);
        let json = serde_json::to_string(&cached).unwrap();
        let back: CachedDiagnostic = serde_json::from_str(&json).unwrap();
        assert_eq!(back.restore(&texts), Some(d));

        let damaged = |change: &dyn Fn(&mut CachedDiagnostic)| {
            let mut c = cached.clone();
            change(&mut c);
            c.restore(&texts)
        };
        assert_eq!(damaged(&|c| c.code = "X999".into()), None);
        assert_eq!(damaged(&|c| c.severity = "fatal".into()), None);
        assert_eq!(
            damaged(&|c| c.span = CachedSpan("a.nix".into(), 4, 2)),
            None
        );
        // inside `é`, and past the end of the text
        assert_eq!(
            damaged(&|c| c.span = CachedSpan("a.nix".into(), 3, 4)),
            None
        );
        assert_eq!(
            damaged(&|c| c.span = CachedSpan("a.nix".into(), 2, 99)),
            None
        );
        assert_eq!(
            damaged(&|c| c.labels[0].0 = CachedSpan("a.nix".into(), 0, 3)),
            None
        );
    }
}
