//! What `inputs.import-tree ./dir` imports: every `.nix` file below `dir`, recursively, in the
//! order `lib.filesystem.listFilesRecursive` gives (entries sorted by name, depth first),
//! leaving out every path with a `/_` in it. Works on the database's directory listings.
//!
//! import-tree tests `/_` against the whole store path; clanc tests the path from the clan
//! directory (with a leading `/`), which is the same for any flake whose store path has no `/_`.

use std::collections::HashMap;

use crate::db::{Db, DirListing, EntryKind, Workspace};

/// The files import-tree loads from `dir` (relative to the clan directory, `""` for the root),
/// as paths relative to the clan directory. `None` when `dir` is not a directory of the clan.
pub fn import_tree(db: &dyn Db, workspace: Workspace, dir: &str) -> Option<Vec<String>> {
    let listings: HashMap<&str, DirListing> = workspace
        .dirs(db)
        .iter()
        .map(|d| (d.path(db).as_str(), *d))
        .collect();
    let dir = dir.trim_matches('/');
    listings.get(dir)?;
    let mut files = Vec::new();
    walk(db, &listings, dir, &mut files);
    Some(files)
}

fn walk(db: &dyn Db, listings: &HashMap<&str, DirListing>, dir: &str, out: &mut Vec<String>) {
    let Some(listing) = listings.get(dir) else {
        // A directory the loader did not list (ignored by .gitignore): not in the flake.
        return;
    };
    for entry in listing.entries(db) {
        let path = if dir.is_empty() {
            entry.name.clone()
        } else {
            format!("{dir}/{}", entry.name)
        };
        match entry.kind {
            EntryKind::Directory => walk(db, listings, &path, out),
            _ if path.ends_with(".nix") && !format!("/{path}").contains("/_") => out.push(path),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Database, DirEntry};

    fn listing(db: &Database, path: &str, entries: &[(&str, EntryKind)]) -> DirListing {
        let entries = entries
            .iter()
            .map(|(name, kind)| DirEntry {
                name: name.to_string(),
                kind: *kind,
            })
            .collect();
        DirListing::new(db, path.to_string(), entries)
    }

    #[test]
    fn nix_files_depth_first_in_name_order_without_underscore_paths() {
        use EntryKind::*;
        let db = Database::default();
        let dirs = vec![
            listing(
                &db,
                "modules",
                &[
                    ("_lib", Directory),
                    ("a.nix", Regular),
                    ("b", Directory),
                    ("c.nix", Symlink),
                    ("notes.md", Regular),
                ],
            ),
            listing(&db, "modules/_lib", &[("helper.nix", Regular)]),
            listing(
                &db,
                "modules/b",
                &[
                    ("_private.nix", Regular),
                    ("x.nix", Regular),
                    ("y", Directory),
                ],
            ),
            listing(&db, "modules/b/y", &[("deep.nix", Regular)]),
        ];
        let workspace = Workspace::new(&db, Vec::new(), dirs, Vec::new());
        assert_eq!(
            import_tree(&db, workspace, "modules").unwrap(),
            [
                "modules/a.nix",
                "modules/b/x.nix",
                "modules/b/y/deep.nix",
                "modules/c.nix"
            ]
        );
        assert_eq!(import_tree(&db, workspace, "nope"), None);
    }

    #[test]
    fn the_seed_fleet_modules_without_the_underscore_helper() {
        let mut db = Database::default();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet");
        let loaded = crate::loader::load_clan(&mut db, &root).unwrap();
        let files = import_tree(&db, loaded.workspace, "modules").unwrap();
        let all_nix_under_modules = loaded
            .workspace
            .files(&db)
            .iter()
            .filter(|f| f.path(&db).starts_with("modules/"))
            .count();
        assert!(files.iter().all(|f| !f.contains("/_")));
        assert_eq!(
            files.len() + 1,
            all_nix_under_modules,
            "only modules/home/_lib is skipped"
        );
        assert!(files.contains(&"modules/clan/core.nix".to_string()));
    }
}
