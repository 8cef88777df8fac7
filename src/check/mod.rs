//! The checker: pure functions from the database's derived data to diagnostics, one file per
//! rule family. No I/O happens here. `check_clan` checks a built model (`crate::model::Clan`).

mod clan;
mod machines;
mod roles;
mod settings;
mod sops_nix;
mod suggest;
mod syntax;
#[cfg(test)]
mod test_support;
mod type_check;
mod vars;

pub use clan::check_clan;
pub use suggest::{closest, edit_distance};
pub use syntax::{LOWER_STACK_BUDGET, not_utf8_diagnostic, syntax_diagnostics};
pub use type_check::{TypeMismatch, type_check};
pub use vars::{GeneratorDirs, VarsListing};

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
