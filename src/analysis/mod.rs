//! The whole check of a loaded clan, as `clanc check`, the language server and the benches
//! run it: syntax and lowering diagnostics of every file, the model (evaluation), and the
//! checker's rules over the model. Pure over the database apart from what building the model
//! reads (files the workspace does not hold) and the legacy sops-nix files the model names.

mod host;
mod loaded_tree;

use std::sync::Arc;

use crate::check::{self, VarsListing};
use crate::db::{Db, Workspace};
use crate::diagnostics::Code;
use crate::diagnostics::{Diagnostic, Severity, Span};
use crate::eval::{Garbage, LiteralValue};
use crate::model::{
    Clan, Copied, Freshness, LiteralEdit, ModelInputs, SpanVisitor, SpansMut,
    build_model_keeping_garbage,
};
use crate::services::catalog::Catalog;
use crate::syntax::token_edit::Moved;

pub use host::{AnalysisHost, Snapshot};
use loaded_tree::LoadedTree;

/// What a check found, and the model it checked (for hover, completion, plans).
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    /// Shared with [`Analysis::memo`] (no copy of a large model per check).
    pub clan: Arc<Clan>,
    /// The evaluation behind the model, freed when this is dropped (or `leak`ed): see
    /// [`Garbage`] for why a caller may want to choose when.
    pub garbage: Garbage,
    /// The model and what it was built from, for the next analysis of a newer text.
    pub memo: ModelMemo,
    /// Whether the model is the previous analysis's.
    pub model_reused: ModelReuse,
    /// What the checker's rules found before [`merge_model_diagnostics`], and the sops facts
    /// they read: what the on-disk cache (`src/cache`) keeps of a check.
    pub clan_checks: Vec<Diagnostic>,
    pub sops: crate::model::vars::sops_facts::SopsFacts,
}

/// Where an analysis's model comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelReuse {
    /// Built by evaluating the clan.
    Built,
    /// The previous analysis's: nothing it was built from changed.
    Same,
    /// The previous analysis's with its spans moved: only comments, whitespace, literals the
    /// evaluation never used and code it never entered (an option definition nothing reads,
    /// a function never called) changed in files it was built from (and no position became
    /// a value or a message).
    Moved,
    /// Moved, and with its copies of edited literals replaced: also literals (strings,
    /// numbers, `true`, `false`) the evaluation used but never read changed (it only passed
    /// their values on).
    Patched,
}

/// Replaces the model's copies of edited literals (found by the literal's span).
struct ApplyLiteralEdits<'a>(&'a [LiteralEdit]);

impl SpanVisitor for ApplyLiteralEdits<'_> {
    fn span(&mut self, _: &mut Span) {}

    fn literal_copy(&mut self, literal: &Span, copied: Copied<'_>) {
        let Some(edit) = self.0.iter().find(|e| e.literal == *literal) else {
            return;
        };
        // An edit keeps a literal's kind (the tokens did not change), so the kinds match.
        match (copied, &edit.value) {
            (Copied::String(text), LiteralValue::String(new)) => text.clone_from(new),
            (Copied::Int(i), LiteralValue::Int(new)) => *i = *new,
            (Copied::Float(f), LiteralValue::Float(new)) => *f = *new,
            (Copied::Bool(b), LiteralValue::Bool(new)) => *b = *new,
            _ => {}
        }
    }
}

/// A model and what it was built from ([`ModelInputs`]): an analysis given the memo of the
/// previous one reuses its model when an edit changed nothing the model was built from (an
/// edit in a file the evaluation never read: a terranix configuration, a package, a dev
/// shell), or an edit of comments, whitespace, literals the evaluation never used or code it
/// never entered (the model's spans in that file then move with the text), or of literals it
/// only passed on to the model (the model's copies then take the new values). Everything
/// after the model (the checker's rules, sops facts read from disk, per-file diagnostics)
/// runs every time. Cloning it copies three shared pointers.
#[derive(Clone, Debug)]
pub struct ModelMemo {
    inputs: Arc<ModelInputs>,
    clan: Arc<Clan>,
    /// Whether no file had syntax errors (which stop its import: its code is then never
    /// entered, so nearly any edit of it builds again).
    clean: bool,
    /// When some file had syntax errors: the newest earlier memo of texts without any, tried
    /// when this one does not hold. Typing makes a file invalid for a few keystrokes; once
    /// it is valid again, the edit since the last valid text may be one that keeps the model
    /// (code never entered, a literal only passed on).
    last_clean: Option<Arc<ModelMemo>>,
}

impl ModelMemo {
    /// What the model was built from.
    pub fn inputs(&self) -> &ModelInputs {
        &self.inputs
    }

    /// The memo of an analysis with `inputs` and `clan`, of texts `clean` or not, made after
    /// one given `previous`.
    fn after(
        inputs: Arc<ModelInputs>,
        clan: Arc<Clan>,
        clean: bool,
        previous: Option<&ModelMemo>,
    ) -> ModelMemo {
        let last_clean = match previous {
            _ if clean => None,
            Some(p) if p.clean => Some(Arc::new(ModelMemo {
                last_clean: None,
                ..p.clone()
            })),
            Some(p) => p.last_clean.clone(),
            None => None,
        };
        ModelMemo {
            inputs,
            clan,
            clean,
            last_clean,
        }
    }
}

/// Checks the clan whose directory is `root` (absolute). With `explain_unknown`, every value
/// that could not be checked because it is unknown is listed (N000, info).
pub fn analyse(db: &dyn Db, root: &str, workspace: Workspace, explain_unknown: bool) -> Analysis {
    analyse_reusing(db, root, workspace, explain_unknown, None)
}

/// [`analyse`], reusing `previous`'s model when what it was built from still holds.
pub fn analyse_reusing(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    explain_unknown: bool,
    previous: Option<&ModelMemo>,
) -> Analysis {
    analyse_inner(db, root, workspace, explain_unknown, previous, false).0
}

/// [`analyse`], with what each machine's configuration is made of (for
/// `plan --changed-since`; the model is always built).
pub fn analyse_with_footprints(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
) -> (Analysis, crate::model::footprint::Footprints) {
    let (analysis, footprints) = analyse_inner(db, root, workspace, false, None, true);
    (analysis, footprints.unwrap_or_default())
}

fn analyse_inner(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    explain_unknown: bool,
    previous: Option<&ModelMemo>,
    with_footprints: bool,
) -> (Analysis, Option<crate::model::footprint::Footprints>) {
    let mut footprints = None;
    let reused = previous.filter(|_| !with_footprints).and_then(|memo| {
        reused_model(db, root, workspace, memo)
            .or_else(|| reused_model(db, root, workspace, memo.last_clean.as_deref()?))
    });
    let (clan, garbage, inputs, model_reused) = match reused {
        Some((clan, inputs, reuse)) => (clan, Garbage::default(), inputs, reuse),
        None if with_footprints => {
            let (clan, garbage, inputs, f) =
                crate::model::build_model_with_footprints(db, root, workspace);
            footprints = Some(f);
            (Arc::new(clan), garbage, Arc::new(inputs), ModelReuse::Built)
        }
        None => {
            let (clan, garbage, inputs) = build_model_keeping_garbage(db, root, workspace);
            (Arc::new(clan), garbage, Arc::new(inputs), ModelReuse::Built)
        }
    };
    // After the model: the evaluation lowers the files it imports first (see
    // [`lowering_alongside`]); the order of the diagnostics is the same.
    let mut diagnostics = check::check_workspace(db, workspace);
    let clean = !diagnostics.iter().any(|d| d.severity == Severity::Error);
    unread_files_do_not_block(&mut diagnostics, &inputs);
    let memo = ModelMemo::after(inputs, Arc::clone(&clan), clean, previous);
    let mut listing = vars_listing(db, workspace);
    // Age keys, the recipients of secrets (loaded) and the keys of legacy sops-nix files.
    let tree = LoadedTree::new(db, workspace, std::path::Path::new(root));
    listing.sops = crate::vars::facts::facts_for_clan(&tree, &clan);
    let clan_checks = check::check_clan(&clan, Catalog::builtin(), &listing);
    merge_model_diagnostics(
        &mut diagnostics,
        clan.diagnostics.iter().chain(&clan_checks).cloned(),
    );
    if explain_unknown {
        diagnostics.extend(unknown_notes(&clan));
    }
    (
        Analysis {
            diagnostics,
            clan,
            garbage,
            memo,
            model_reused,
            clan_checks,
            sops: listing.sops,
        },
        footprints,
    )
}

/// Adds the model's and the checker's diagnostics to the syntax diagnostics, in order.
pub fn merge_model_diagnostics(
    diagnostics: &mut Vec<Diagnostic>,
    model: impl IntoIterator<Item = Diagnostic>,
) {
    for d in model {
        // Syntax errors also stop evaluation: report each place once.
        let same_place = |o: &Diagnostic| o.code == d.code && o.span == d.span;
        if !diagnostics.iter().any(same_place) {
            diagnostics.push(d);
        }
    }
}

/// N000 (info) for every value of the model that could not be checked because it is unknown.
pub fn unknown_notes(clan: &Clan) -> impl Iterator<Item = Diagnostic> + '_ {
    clan.unknowns.iter().map(|note| {
        let span = note
            .span
            .clone()
            .unwrap_or_else(|| Span::new("flake.nix", Default::default()));
        Diagnostic::new(
            Code::N000,
            Severity::Info,
            format!(
                "not checked: `{}` is unknown: {}",
                note.subject, note.reason
            ),
            span,
        )
    })
}

/// Syntax errors in files the clan's evaluation never read (a scratch file, a template, a
/// `callPackage` file, an encrypted file named `.nix`) are shown, as information: Nix never
/// reads them either, so they cannot stop a deploy.
fn unread_files_do_not_block(diagnostics: &mut [Diagnostic], inputs: &ModelInputs) {
    demote_unread(diagnostics, |file| inputs.unread_file(file));
}

/// [`unread_files_do_not_block`], with `unread` telling which files the evaluation never read.
pub fn demote_unread(diagnostics: &mut [Diagnostic], unread: impl Fn(&str) -> bool) {
    for d in diagnostics.iter_mut() {
        if d.code == Code::N001 && d.severity == Severity::Error && unread(&d.span.file) {
            d.severity = Severity::Info;
            d.message = format!(
                "{} (`{}` is not read by the clan's evaluation)",
                d.message, d.span.file
            );
        }
    }
}

/// `memo`'s model, when what it was built from still holds (moved or patched as the edit
/// requires), with the inputs of the reused model.
fn reused_model(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    memo: &ModelMemo,
) -> Option<(Arc<Clan>, Arc<ModelInputs>, ModelReuse)> {
    match memo.inputs.freshness(db, root, workspace) {
        Freshness::Same => Some((
            Arc::clone(&memo.clan),
            Arc::clone(&memo.inputs),
            ModelReuse::Same,
        )),
        Freshness::Moved {
            inputs,
            moves,
            edits,
            unentered,
        } => moved_model(memo, *inputs, &moves, &edits, &unentered),
        Freshness::Stale => None,
    }
}

/// The previous model with its spans moved and its copies of edited literals replaced; `None`
/// when an edit made two tags of one machine or role equal (the model would keep one copy,
/// and a later edit of the other literal could not reach it), or when the model has a span
/// in code that changed unentered (`unentered`, old ranges).
fn moved_model(
    memo: &ModelMemo,
    inputs: ModelInputs,
    moves: &[(String, Moved)],
    edits: &[LiteralEdit],
    unentered: &[Span],
) -> Option<(Arc<Clan>, Arc<ModelInputs>, ModelReuse)> {
    let mut clan = Clan::clone(&memo.clan);
    if !unentered.is_empty() {
        // A span around changed code moves with it; any other that overlaps it was taken
        // from code the evaluation never ran (a position of an unforced value).
        let mut inside = false;
        clan.spans_mut(&mut |span: &mut Span| {
            inside |= unentered.iter().any(|u| {
                let around =
                    span.range.start() < u.range.start() && u.range.end() < span.range.end();
                span.file == u.file
                    && !around
                    && span.range.intersect(u.range).is_some_and(|i| !i.is_empty())
            });
        });
        if inside {
            return None;
        }
    }
    for (file, moved) in moves {
        clan.spans_mut(&mut |span: &mut Span| {
            if *span.file == **file {
                span.range = moved.range(span.range);
            }
        });
    }
    let reuse = if edits.is_empty() {
        ModelReuse::Moved
    } else {
        let literals = || edits.iter().map(|e| &e.literal);
        clan.spans_mut(&mut ApplyLiteralEdits(edits));
        // A tag renamed: what tags and roles resolve to follows.
        if clan.tags_copy_any(literals()) && clan.resolve_tags() {
            return None;
        }
        // Which services a machine's generators were read with was decided from the model:
        // an edit that changes it builds the model again.
        if (clan.tags_copy_any(literals()) || clan.instance_modules_copy_any(literals()))
            && clan.distribution_changed()
        {
            return None;
        }
        ModelReuse::Patched
    };
    Some((Arc::new(clan), Arc::new(inputs), reuse))
}

/// Runs `work` (an analysis, on this thread) while other threads parse and lower every Nix
/// file of the workspace, so that the syntax diagnostics after the model find them memoised.
/// Parsing with rnix is about a fifth of a check of a large clan, and the evaluation needs only
/// the files it imports: it lowers those itself when it gets to them first (salsa computes each
/// file once; a thread asking for a file another is lowering waits for it). The other threads
/// take the files from the end of the list, the check's syntax pass from the start.
pub fn lowering_alongside<R>(
    db: &crate::db::Database,
    workspace: Workspace,
    work: impl FnOnce() -> R,
) -> R {
    let files: Vec<crate::db::SourceFile> = workspace
        .files(db)
        .iter()
        .chain(workspace.builtins(db).iter())
        .filter(|f| crate::db::is_nix(f.path(db)))
        .copied()
        .collect();
    if files.len() < 32 {
        return work();
    }
    lowering_files_alongside(db.clone(), files, work)
}

/// Runs `work` on this thread while other threads (what cores are left, at least one) lower
/// `files` through `db`, a handle of the database `work` may use too (only to read or to make
/// new inputs: setting one would wait for these threads). Each thread takes the files from
/// the end of its part of the list.
pub fn lowering_files_alongside<R>(
    db: crate::db::Database,
    files: Vec<crate::db::SourceFile>,
    work: impl FnOnce() -> R,
) -> R {
    // This thread evaluates: the others take what cores are left, at least one.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(2, 8)
        - 1;
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for part in files.chunks(chunk) {
            let db = db.clone();
            let spawned = std::thread::Builder::new()
                .stack_size(crate::STACK_SIZE)
                .spawn_scoped(scope, move || {
                    // A newer edit cancels the analysis (the language server): this part
                    // stops with it, quietly; `work` unwinds on its own.
                    let _ = salsa::Cancelled::catch(|| {
                        for file in part.iter().rev() {
                            let _ = crate::eval::lower_file(
                                &db,
                                *file,
                                crate::eval::Limits::DEFAULT_LOWER_BUDGET,
                            );
                        }
                    });
                });
            // Without the thread the check parses those files itself.
            drop(spawned);
        }
        // The threads have their own handles: this one must not outlive `work`'s writes.
        drop(db);
        work()
    })
}

/// What exists under `vars/`, from the loaded directory listings.
pub fn vars_listing(db: &dyn Db, workspace: Workspace) -> VarsListing {
    VarsListing::from_dirs(workspace.dirs(db).iter().map(|d| {
        let entries = d.entries(db).iter().map(|e| e.name.as_str()).collect();
        (d.path(db).as_str(), entries)
    }))
}
