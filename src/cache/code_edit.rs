//! A check after an edit of code the evaluation read, answered from the entry when the edit
//! leaves the model as it was: what the language server asks of an edit
//! (`model::CodeUse::after_edits`), asked of the code kept beside the entry
//! ([`super::code_kept`]). Comments, whitespace, literals the evaluation never used and code it
//! never entered (most of a machine's configuration: clanc forces its imports, its vars
//! generators and a few options) then change nothing the evaluation computed, so the entry's
//! diagnostics hold with their spans in the edited files moved with the text. A diagnostic
//! at code that changed, a literal the model copied, or any other question answered
//! otherwise builds the model again.

use std::sync::Arc;

use rnix::{TextRange, TextSize};

use super::code_kept::{KeptCode, code_use};
use super::digest;
use super::entry::{CachedDiagnostic, CachedSpan, ModelEntry};
use super::observed::{Kind, Observed, TextDigests};
use crate::db::{Db, Workspace};
use crate::eval::Files as _;
use crate::files::ClanFiles;
use crate::model::CodeEdits;

/// Edits of code files that leave the model as it was.
struct CodeEdited {
    /// The clan directory (absolute).
    root: String,
    /// The edited files: absolute path, new text.
    changed: Vec<(String, Arc<str>)>,
    edits: CodeEdits,
    /// The kept code after the edits (to be bound to the new entry).
    kept: KeptCode,
}

/// When every question of `changed` (answered otherwise now by the clan loaded in
/// `workspace` at `root`) asks the text of a file `kept` holds, the edits leave the model as
/// it was and no diagnostic of `model` lies at code that changed: the entry's model part
/// after the edits (`digests` gives the texts' digests) and the kept code after them; else
/// why the model must be built again.
pub fn model_after_edits(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    kept: Option<KeptCode>,
    changed: &[&Observed],
    model: &ModelEntry,
    digests: &mut TextDigests,
) -> Result<(ModelEntry, KeptCode), String> {
    let edited = code_edited(db, root, workspace, kept, changed)?;
    let after = (edited.model_after(model, digests))
        .ok_or("a diagnostic of the model lies at code that changed")?;
    Ok((after, edited.kept))
}

/// When every question of `changed` (answered otherwise now by the clan loaded in
/// `workspace` at `root`) asks the text of a file `kept` holds, and the edits leave the model
/// as it was: how the files changed; else why the model must be built again.
fn code_edited(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    kept: Option<KeptCode>,
    changed: &[&Observed],
) -> Result<CodeEdited, String> {
    let first = changed.first().map_or("", |o| o.path.as_str());
    let why = || format!("what the evaluation read changed: {first}");
    let kept = kept.ok_or_else(why)?;
    let files = ClanFiles::new(db, root, workspace);
    let mut now = Vec::with_capacity(changed.len());
    let mut before = Vec::with_capacity(changed.len());
    for o in changed {
        let old = kept.file(&o.path).filter(|_| o.kind == Kind::File);
        // The kept text must be the one the entry's evaluation read.
        let old = old.filter(|f| digest::of_bytes(f.text.as_bytes()) == o.answer);
        let source = files.source(db, &o.path).ok();
        let (Some(old), Some(source)) = (old, source) else {
            return Err(why());
        };
        now.push((o.path.clone(), Arc::clone(source.text(db))));
        before.push(old);
    }
    let code = code_use(db, &before).ok_or_else(why)?;
    let text_before = |path: &str| {
        (before.iter())
            .find(|f| f.path == path)
            .map(|f| f.text.as_str())
    };
    let edits = (code.after_edits(db, &files, &now, text_before))
        // A literal the model copied: the checks would see its new value.
        .filter(|e| e.edits.is_empty())
        .ok_or_else(why)?;
    let kept = kept.edited(&now, &edits.code);
    Ok(CodeEdited {
        root: root.trim_end_matches('/').to_string(),
        changed: now,
        edits,
        kept,
    })
}

impl CodeEdited {
    /// The entry's model part after these edits: the new answers to the questions about the
    /// edited files, the diagnostics and notes with their spans moved, the new digests of the
    /// files they point into. `None` when a diagnostic lies at code that changed (touching or
    /// around it: what a span there becomes is the evaluation's to say).
    fn model_after(&self, model: &ModelEntry, digests: &mut TextDigests) -> Option<ModelEntry> {
        let mut after = model.clone();
        for (path, text) in &self.changed {
            let answer = digests.of(text);
            for o in (after.observed.iter_mut()).filter(|o| o.kind == Kind::File && o.path == *path)
            {
                o.answer.clone_from(&answer);
            }
        }
        after.diagnostics = self.moved(&model.diagnostics)?;
        after.notes = self.moved(&model.notes)?;
        for (file, digest) in &mut after.span_files {
            let absolute = format!("{}/{file}", self.root);
            let edited = self.changed.iter().find(|(path, _)| *path == absolute);
            if let (Some((_, text)), Some(digest)) = (edited, digest.as_mut()) {
                *digest = digests.of(text);
            }
        }
        Some(after)
    }

    /// `cached` with their spans in the edited files moved with the text.
    fn moved(&self, cached: &[CachedDiagnostic]) -> Option<Vec<CachedDiagnostic>> {
        let mut out = cached.to_vec();
        for d in &mut out {
            self.move_span(&mut d.span)?;
            for (span, _) in &mut d.labels {
                self.move_span(span)?;
            }
        }
        Some(out)
    }

    fn move_span(&self, span: &mut CachedSpan) -> Option<()> {
        let Some((_, moved)) = self.edits.moves.iter().find(|(f, _)| *f == span.0) else {
            return Some(());
        };
        if span.1 > span.2 {
            return None;
        }
        let range = TextRange::new(TextSize::from(span.1), TextSize::from(span.2));
        let at_change = (self.edits.touched.iter()).any(|t| {
            *t.file == *span.0 && range.start() <= t.range.end() && t.range.start() <= range.end()
        });
        if at_change {
            return None;
        }
        let range = moved.range(range);
        span.1 = range.start().into();
        span.2 = range.end().into();
        Some(())
    }
}
