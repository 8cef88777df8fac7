//! Files changed outside the editor (`workspace/didChangeWatchedFiles`): a `git pull`, a
//! `clanc vars generate`, a file created by another tool. The server asks the client to watch
//! the files a clan is read from and, on a change, brings the database up to date with the
//! disk (`loader::refresh`); the texts of open documents stay the editor's.

use lsp_types::{
    DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, InitializeParams,
    Registration, RegistrationParams,
};

/// The registration's id (one registration for the server's lifetime).
const REGISTRATION_ID: &str = "clanc-watched-files";

/// What the clan is read from: Nix files, the root's data files, and what `vars/` and `sops/`
/// hold (the vars checks read their listings).
const PATTERNS: [&str; 5] = [
    "**/*.nix",
    "**/flake.lock",
    "**/inventory.json",
    "**/vars/**",
    "**/sops/**",
];

/// Whether the client can be asked to watch files (dynamic registration).
pub fn client_can_watch(params: &InitializeParams) -> bool {
    params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false)
}

/// The `client/registerCapability` params asking for the clan's files to be watched.
pub fn registration() -> RegistrationParams {
    let watchers = PATTERNS
        .iter()
        .map(|pattern| FileSystemWatcher {
            glob_pattern: GlobPattern::String(pattern.to_string()),
            kind: None, // create, change and delete
        })
        .collect();
    let options = DidChangeWatchedFilesRegistrationOptions { watchers };
    RegistrationParams {
        registrations: vec![Registration {
            id: REGISTRATION_ID.to_string(),
            method: "workspace/didChangeWatchedFiles".to_string(),
            register_options: serde_json::to_value(options).ok(),
        }],
    }
}
