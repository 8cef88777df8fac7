//! The service catalog: clan-core's built-in services (embedded data) and, with the evaluator,
//! the flake's own `_class = "clan.service"` modules.

pub mod catalog;
pub mod flake_service;
pub mod history;
