//! `--changed-since [REF]` of `clanc plan` and `clanc apply DIR`: the paths git says changed
//! since REF (`exec::git`), the clan as it was at REF (checked out in a private directory and
//! analysed like the work tree), and the machines the change affects
//! (`model::affected`), for the planner to select.

use std::path::{Component, Path, PathBuf};

use crate::exec::git;
use crate::model::affected::{State, affected};
use crate::model::footprint::{Footprints, lexical_relative};
use crate::plan::ChangedSince;

use super::check::{Analysis, analyse_with_footprints};

/// The changes since `rev` (empty: the default) of the git work tree holding `dir`, and the
/// machines of `now` (the work tree's analysis) they affect. Err: why not (git failed, no
/// such revision, not a repository).
pub(super) fn changed_since(
    dir: &Path,
    rev: &str,
    now: &Analysis,
    now_footprints: &Footprints,
) -> Result<ChangedSince, String> {
    let (rev, chosen) = if rev.is_empty() {
        match git::default_rev(dir)? {
            Some(r) if r == "HEAD" => (r, Some("the work tree has changes".to_string())),
            Some(r) => (
                r,
                Some("the work tree is clean: what the last commit changed".to_string()),
            ),
            None => {
                // No commit before HEAD: everything is new.
                let mut since = ChangedSince {
                    rev: "HEAD~1".to_string(),
                    chosen: Some(
                        "the work tree is clean and HEAD has no parent: every machine is new"
                            .to_string(),
                    ),
                    ..ChangedSince::default()
                };
                for m in now.clan.machines.keys() {
                    since.affected.insert(
                        m.clone(),
                        vec!["HEAD is the repository's first commit".into()],
                    );
                }
                return Ok(since);
            }
        }
    } else {
        (rev.to_string(), None)
    };
    let changes = git::changes_since(dir, &rev).map_err(|e| {
        if dir.join(&rev).is_dir() || Path::new(&rev).is_dir() {
            format!("{e} (a directory to plan goes before --changed-since, or write --changed-since=REF)")
        } else {
            e
        }
    })?;
    let paths = clan_relative(&changes.paths, &changes.prefix);
    let mut since = ChangedSince {
        rev,
        commit: changes.commit.clone(),
        chosen,
        paths,
        ..ChangedSince::default()
    };
    if since.paths.is_empty() {
        since.unaffected = now.clan.machines.keys().cloned().collect();
        return Ok(since);
    }
    // The clan as it was: every file of the commit, in a private directory.
    let old_dir = tempfile::Builder::new()
        .prefix("clanc-changed-since-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    git::checkout_commit(&changes.toplevel, &changes.commit, old_dir.path())?;
    let old_root = git::checked_out_top(old_dir.path()).join(changes.prefix.trim_end_matches('/'));
    let then = if old_root.join("flake.nix").is_file() {
        analyse_with_footprints(&old_root).map_err(|e| e.to_string())
    } else {
        Err(format!("the clan had no flake.nix at {}", since.rev))
    };
    let (then, then_footprints) = match then {
        Ok(pair) => pair,
        Err(why) => {
            for m in now.clan.machines.keys() {
                since.affected.insert(
                    m.clone(),
                    vec![format!(
                        "the clan as it was at {} could not be read ({why})",
                        since.rev
                    )],
                );
            }
            return Ok(since);
        }
    };
    let now_root = dir.to_path_buf();
    let exists_now = |p: &str| inside(&now_root, p).is_some_and(|f| f.symlink_metadata().is_ok());
    let exists_then = |p: &str| inside(&old_root, p).is_some_and(|f| f.symlink_metadata().is_ok());
    let list_now = |p: &str| listing(&now_root, p);
    let list_then = |p: &str| listing(&old_root, p);
    let lock_now = std::fs::read_to_string(dir.join("flake.lock")).ok();
    let lock_then = std::fs::read_to_string(old_root.join("flake.lock")).ok();
    let json_now = std::fs::read_to_string(dir.join("inventory.json")).ok();
    let json_then = std::fs::read_to_string(old_root.join("inventory.json")).ok();
    let old = State {
        clan: &then.clan,
        footprints: &then_footprints,
        lock: lock_then.as_deref(),
        inventory_json: json_then.as_deref(),
        exists: &exists_then,
        list: &list_then,
    };
    let new = State {
        clan: &now.clan,
        footprints: now_footprints,
        lock: lock_now.as_deref(),
        inventory_json: json_now.as_deref(),
        exists: &exists_now,
        list: &list_now,
    };
    let result = affected(&old, &new, &since.paths);
    since.affected = result.machines;
    since.unaffected = result.unaffected;
    Ok(since)
}

/// Paths relative to the repository's top as paths relative to the clan directory
/// (`prefix`, as `git rev-parse --show-prefix` says it): `../` for paths outside it.
fn clan_relative(paths: &[String], prefix: &str) -> Vec<String> {
    // The same lexical form footprints use (`relative_to_root`), on paths from the top.
    let root = format!("/{}", prefix.trim_end_matches('/'));
    let mut out: Vec<String> = paths
        .iter()
        .map(|p| lexical_relative(&root, &format!("/{p}")))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `rel` below `root`, when it names a place there (no `..`, not absolute).
fn inside(root: &Path, rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    path.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(path))
}

fn listing(root: &Path, rel: &str) -> Vec<String> {
    let Some(dir) = inside(root, rel) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_a_clan_in_a_subdirectory() {
        let paths = vec![
            "infra/clan/modules/a.nix".to_string(),
            "infra/other.nix".to_string(),
            "README.md".to_string(),
        ];
        assert_eq!(
            clan_relative(&paths, "infra/clan/"),
            ["../../README.md", "../other.nix", "modules/a.nix"]
        );
        assert_eq!(clan_relative(&paths, ""), {
            let mut p = paths.clone();
            p.sort();
            p
        });
        assert!(inside(Path::new("/r"), "../x").is_none());
        assert!(inside(Path::new("/r"), "/etc").is_none());
        assert_eq!(
            inside(Path::new("/r"), "a/b"),
            Some(PathBuf::from("/r/a/b"))
        );
    }
}
