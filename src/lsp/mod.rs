//! `clanc lsp`: a language server over stdio. Open buffers replace the files on disk in the
//! salsa database; every edit re-checks the clan on a worker thread (a newer edit cancels the
//! check in flight through salsa) and diagnostics are published for every file that has any, and
//! cleared when fixed. Only a check of the newest text is ever published.

mod check_thread;
mod completion;
mod features;
mod position;
mod server;
mod transport;
mod uri;
mod watch;

pub use server::run_stdio;
