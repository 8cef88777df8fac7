//! The checker: pure functions from the database's derived data to diagnostics, one file per
//! rule family. No I/O happens here.

mod syntax;

pub use syntax::{not_utf8_diagnostic, syntax_diagnostics};

use crate::db::{Db, Workspace};
use crate::diagnostics::Diagnostic;

/// Every diagnostic for the workspace.
pub fn check_workspace(db: &dyn Db, workspace: Workspace) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for &file in workspace.files(db) {
        diagnostics.extend(syntax_diagnostics(db, file));
    }
    diagnostics
}
