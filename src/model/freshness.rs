//! What a model was built from, and whether it still holds for a newer state of the clan:
//! the same model, the model with its spans moved and its copies of edited literals
//! replaced, or a model to build again.

use std::sync::Arc;

use super::code_use::CodeUse;
use crate::db::{Db, SourceFile, Workspace};
use crate::diagnostics::Span;
use crate::eval::{Evaluator, LiteralValue};
use crate::files::{ClanFiles, FilesNow, Observations};
use crate::syntax::token_edit::Moved;

/// What a model was built from: its root, the texts of `flake.lock` and whether there is a
/// `flake.nix` (read from the workspace), and everything the evaluation read (files,
/// directory listings, file types, through [`ClanFiles`]). Building is deterministic in these,
/// so while they hold, the model does too: an edit elsewhere need not build it again.
#[derive(Clone, Debug)]
pub struct ModelInputs {
    root: String,
    /// The files the evaluation imported from outside the workspace (`ClanFiles::
    /// code_read_elsewhere`): their lowering is memoised under these inputs.
    code_read_elsewhere: Arc<[SourceFile]>,
    workspace_facts: WorkspaceFacts,
    reads: Observations,
    /// What the evaluation did with the code it imported.
    code: CodeUse,
}

/// Whether a model built from [`ModelInputs`] still describes a newer state of the clan.
#[derive(Debug)]
pub enum Freshness {
    /// Nothing it was built from changed: the same model.
    Same,
    /// Only comments, whitespace, literals the evaluation never used or never read, and code
    /// it never entered changed in files it imported: the same model once its spans in those
    /// files (relative paths) follow the text and its copies of the edited literals are
    /// replaced.
    Moved {
        /// The inputs of the moved model.
        inputs: Box<ModelInputs>,
        moves: Vec<(String, Moved)>,
        edits: Vec<LiteralEdit>,
        /// Code the evaluation never entered that changed, and names of attributes now
        /// written at another path of their set (old ranges): a span of the model that
        /// overlaps one without lying around it was not made by the evaluation (a position
        /// of unforced code) or is a position that moved, so the model is built again.
        unentered: Vec<Span>,
    },
    /// Build it again.
    Stale,
}

/// A literal (a string, a number, `true` or `false`) whose new value replaces the model's
/// copies of it ([`Spanned::literal`](super::Spanned::literal)), found by the span the literal has once spans moved.
#[derive(Clone, Debug, PartialEq)]
pub struct LiteralEdit {
    pub literal: Span,
    pub value: LiteralValue,
}

/// What a model is built from besides what its evaluation reads: the text of `flake.lock`
/// (taken from the workspace, not asked through the evaluator's files) and whether the
/// clan has a `flake.nix`.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkspaceFacts {
    pub lock: Option<Arc<str>>,
    pub has_flake: bool,
}

impl WorkspaceFacts {
    pub fn of(db: &dyn Db, workspace: Workspace) -> WorkspaceFacts {
        let file = |name: &str| {
            workspace
                .files(db)
                .iter()
                .find(|f| f.path(db) == name)
                .copied()
        };
        WorkspaceFacts {
            lock: file("flake.lock").map(|f| f.text(db).clone()),
            has_flake: file("flake.nix").is_some(),
        }
    }
}

impl ModelInputs {
    /// Everything the evaluation asked of the files, and what it was told.
    pub fn observations(&self) -> &Observations {
        &self.reads
    }

    /// What the evaluation did with the code it imported.
    pub fn code(&self) -> &CodeUse {
        &self.code
    }

    /// The files the evaluation imported as code from outside the workspace (the flake's
    /// inputs in the store), as the database inputs it lowered them from.
    pub fn code_read_elsewhere(&self) -> &[SourceFile] {
        &self.code_read_elsewhere
    }

    /// Whether the evaluation behind the model is known not to have read `file` (relative to
    /// the clan directory): the clan has a flake.nix, which was evaluated, and the file was
    /// never imported or read. Without a flake.nix nothing says which files count.
    pub fn unread_file(&self, file: &str) -> bool {
        self.workspace_facts.has_flake
            && !self
                .reads
                .read_file(&format!("{}/{file}", self.root.trim_end_matches('/')))
    }

    /// What the evaluation `ev` behind a model read and used, with the model's `root` and
    /// the workspace `facts` it was built with.
    pub(super) fn new(
        root: &str,
        facts: &WorkspaceFacts,
        files: &ClanFiles,
        ev: &Evaluator,
    ) -> ModelInputs {
        ModelInputs {
            root: root.to_string(),
            code_read_elsewhere: files.code_read_elsewhere().into(),
            workspace_facts: facts.clone(),
            reads: files.observations(),
            code: CodeUse::of(ev),
        }
    }

    /// Whether the model built from these inputs describes `workspace` now, and if only
    /// comments, whitespace, literals the evaluation never used or never read, and code it
    /// never entered changed in files it imported, how its spans move.
    pub fn freshness(&self, db: &dyn Db, root: &str, workspace: Workspace) -> Freshness {
        if self.root != root || self.workspace_facts != WorkspaceFacts::of(db, workspace) {
            return Freshness::Stale;
        }
        let files = ClanFiles::new(db, root, workspace);
        let changed = match self.reads.compare(db, &files) {
            FilesNow::Same => return Freshness::Same,
            FilesNow::Changed => return Freshness::Stale,
            FilesNow::CodeChanged(changed) => changed,
        };
        let before = |path: &str| self.reads.text_of(path)?.ok().map(|t| &**t);
        let Some(edits) = self.code.after_edits(db, &files, &changed, before) else {
            return Freshness::Stale;
        };
        let inputs = ModelInputs {
            reads: self.reads.with_texts(&changed),
            code: edits.code,
            ..self.clone()
        };
        Freshness::Moved {
            inputs: Box::new(inputs),
            moves: edits.moves,
            edits: edits.edits,
            unentered: edits.unentered,
        }
    }
}
