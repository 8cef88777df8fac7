//! The known inputs' models, written in Nix and evaluated by clanc's own evaluator: nixpkgs
//! `lib`, import-tree, flake-parts, clan-core, and the part of a machine's configuration the
//! model reads. They live under a virtual directory so positions in them never pass for the
//! user's files.

pub mod lowered;

/// The directory the embedded files appear in.
pub const DIR: &str = "/clanc-builtin";

pub(crate) const FILES: &[(&str, &str)] = &[
    ("lib.nix", include_str!("lib.nix")),
    ("import-tree.nix", include_str!("import-tree.nix")),
    ("flake-parts.nix", include_str!("flake-parts.nix")),
    ("clan-core.nix", include_str!("clan-core.nix")),
    ("machine.nix", include_str!("machine.nix")),
    ("clan-service.nix", include_str!("clan-service.nix")),
    ("service-modules.nix", include_str!("service-modules.nix")),
];

/// The text of an embedded file, by its absolute (virtual) path.
pub fn source(path: &str) -> Option<&'static str> {
    let name = path.strip_prefix(DIR)?.strip_prefix('/')?;
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The absolute (virtual) path of an embedded file.
pub fn path(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// Whether a path is one of the embedded files.
pub fn is_builtin(path: &str) -> bool {
    path.starts_with(DIR) && path[DIR.len()..].starts_with('/')
}

/// Every embedded file as a database input (under its virtual path).
pub fn inputs(db: &dyn crate::db::Db) -> Vec<crate::db::SourceFile> {
    FILES
        .iter()
        .map(|(name, text)| {
            crate::db::SourceFile::builder(path(name), std::sync::Arc::from(*text))
                .durability(salsa::Durability::HIGH)
                .new(db)
        })
        .collect()
}
