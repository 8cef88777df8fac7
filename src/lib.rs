//! clanc: a compiler for clan inventories. The library behind the `clanc` binary; see
//! `docs/` and the README for the architecture (syntax -> eval -> modules -> model -> check).

pub mod analysis;
pub mod cache;
pub mod check;
pub mod cli;
pub mod db;
pub mod diagnostics;
pub mod eval;
pub mod exec;
pub mod file_stat;
pub mod files;
pub mod loader;
pub(crate) mod lsp;
pub mod model;
pub mod modules;
pub mod plan;
pub(crate) mod services;
pub(crate) mod shell;
pub mod syntax;
pub mod vars;

/// Stack size of the thread clanc does its work on. Parsing and evaluation recurse with the
/// depth of the user's code; their own limits keep the depth bounded well inside this.
pub const STACK_SIZE: usize = 256 * 1024 * 1024;
