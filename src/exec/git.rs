//! `git` in the clan's repository: committing what `clanc vars generate --commit` wrote, and
//! what `clanc plan --changed-since` compares (the paths changed since a revision, and that
//! revision's files in a private directory).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `git -C <root> add -A -- <paths>` then `git commit -q -m <message> -- <paths>`.
/// Err: git could not run, or said no (its stderr).
pub fn commit(root: &Path, paths: &[PathBuf], message: &str) -> Result<(), String> {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .args(paths)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "git {} failed: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    git(&["add", "-A", "--"])?;
    git(&["commit", "-q", "-m", message, "--"])
}

/// What changed in the work tree holding a clan since a revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changes {
    /// The revision as given (or chosen: `HEAD`, `HEAD~1`).
    pub rev: String,
    /// The commit it names (full hash).
    pub commit: String,
    /// The repository's top directory.
    pub toplevel: PathBuf,
    /// The clan's directory relative to the top (`""`, or `some/dir/`).
    pub prefix: String,
    /// Every path that differs, relative to the top, sorted: files changed, added or deleted
    /// since the revision (both sides of a rename), staged or not, and untracked files that
    /// are not ignored.
    pub paths: Vec<String>,
}

/// Runs `git -C <dir> <args>`; its stdout, or why it failed.
fn git_output(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<Vec<u8>, String> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "git {} failed: {}",
            args.first().copied().unwrap_or_default(),
            stderr.trim()
        ))
    }
}

fn line(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes)
        .map(|s| s.trim_end_matches('\n').to_string())
        .map_err(|_| "git printed a path that is not UTF-8".to_string())
}

/// NUL-separated paths as git prints them with `-z`; a path that is not UTF-8 is an error
/// (clanc's files are UTF-8 paths).
fn nul_paths(bytes: &[u8]) -> Result<Vec<String>, String> {
    bytes
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| {
            std::str::from_utf8(p)
                .map(str::to_string)
                .map_err(|_| "git printed a path that is not UTF-8".to_string())
        })
        .collect()
}

/// The revision `--changed-since` compares with when none is given: `HEAD` when the work
/// tree has changes (tracked or untracked), else `HEAD~1` (what the last commit changed).
/// `None` for `HEAD~1` when HEAD has no parent.
pub fn default_rev(dir: &Path) -> Result<Option<String>, String> {
    let status = git_output(
        dir,
        &["status", "--porcelain", "-z", "--untracked-files=normal"],
        &[],
    )?;
    if !status.is_empty() {
        return Ok(Some("HEAD".to_string()));
    }
    match git_output(
        dir,
        &["rev-parse", "--verify", "--quiet", "HEAD~1^{commit}"],
        &[],
    ) {
        Ok(_) => Ok(Some("HEAD~1".to_string())),
        Err(_) => Ok(None),
    }
}

/// The paths that differ between `rev` and the work tree holding `dir`. A revision that
/// starts with `-` is refused (it would be read as an option).
pub fn changes_since(dir: &Path, rev: &str) -> Result<Changes, String> {
    if rev.starts_with('-') || rev.is_empty() {
        return Err(format!("`{rev}` is not a git revision"));
    }
    let toplevel = PathBuf::from(line(git_output(
        dir,
        &["rev-parse", "--show-toplevel"],
        &[],
    )?)?);
    let prefix = line(git_output(dir, &["rev-parse", "--show-prefix"], &[])?)?;
    let spec = format!("{rev}^{{commit}}");
    let commit = line(
        git_output(
            dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ],
            &[],
        )
        .map_err(|_| format!("`{rev}` names no commit of the repository"))?,
    )?;
    let diff = git_output(
        &toplevel,
        &[
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--ignore-submodules=none",
            &commit,
            "--",
        ],
        &[],
    )?;
    let untracked = git_output(
        &toplevel,
        &["ls-files", "-z", "--others", "--exclude-standard"],
        &[],
    )?;
    let mut paths = nul_paths(&diff)?;
    paths.extend(nul_paths(&untracked)?);
    paths.sort();
    paths.dedup();
    Ok(Changes {
        rev: rev.to_string(),
        commit,
        toplevel,
        prefix,
        paths,
    })
}

/// Writes the files of `commit` (every file of the repository at `toplevel`) below `into`,
/// without touching the repository: a private index (`read-tree`) checked out with
/// `checkout-index --prefix`.
pub fn checkout_commit(toplevel: &Path, commit: &str, into: &Path) -> Result<(), String> {
    if commit.starts_with('-') {
        return Err(format!("`{commit}` is not a commit"));
    }
    let index = into.join(".clanc-index");
    let tree = into.join("tree");
    std::fs::create_dir_all(&tree).map_err(|e| format!("cannot create {}: {e}", tree.display()))?;
    let env = [("GIT_INDEX_FILE", index.as_path())];
    git_output(toplevel, &["read-tree", commit], &env)?;
    let prefix = format!("{}/", tree.to_string_lossy());
    git_output(
        toplevel,
        &[
            "checkout-index",
            "--all",
            "--force",
            &format!("--prefix={prefix}"),
        ],
        &env,
    )?;
    let _ = std::fs::remove_file(&index);
    Ok(())
}

/// Where [`checkout_commit`] put the files of the repository's top directory.
pub fn checked_out_top(into: &Path) -> PathBuf {
    into.join("tree")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn changed_paths_renames_untracked_and_the_old_tree() {
        let repo = tempfile::tempdir().unwrap();
        let top = repo.path();
        git(top, &["init", "-q"]);
        std::fs::create_dir_all(top.join("clan/modules")).unwrap();
        std::fs::write(top.join("clan/modules/a.nix"), "{ }\n").unwrap();
        std::fs::write(top.join("clan/old.nix"), "1\n").unwrap();
        std::fs::write(top.join(".gitignore"), "ignored.txt\n").unwrap();
        git(top, &["add", "-A"]);
        git(top, &["commit", "-q", "-m", "one"]);
        let clan = top.join("clan");
        // a clean tree compares with the last commit's parent: there is none
        assert_eq!(default_rev(&clan).unwrap(), None);
        git(top, &["mv", "clan/old.nix", "clan/new.nix"]);
        std::fs::write(top.join("clan/modules/a.nix"), "{ x = 1; }\n").unwrap();
        std::fs::write(top.join("clan/untracked.nix"), "2\n").unwrap();
        std::fs::write(top.join("ignored.txt"), "no\n").unwrap();
        assert_eq!(default_rev(&clan).unwrap().as_deref(), Some("HEAD"));
        let changes = changes_since(&clan, "HEAD").unwrap();
        assert_eq!(changes.prefix, "clan/");
        assert_eq!(
            changes.paths,
            [
                "clan/modules/a.nix",
                "clan/new.nix",
                "clan/old.nix",
                "clan/untracked.nix"
            ]
        );
        assert!(changes_since(&clan, "--output=/tmp/x").is_err());
        assert!(changes_since(&clan, "no-such-rev").is_err());
        let out = tempfile::tempdir().unwrap();
        checkout_commit(&changes.toplevel, &changes.commit, out.path()).unwrap();
        let old = checked_out_top(out.path());
        assert_eq!(
            std::fs::read_to_string(old.join("clan/modules/a.nix")).unwrap(),
            "{ }\n"
        );
        assert!(old.join("clan/old.nix").exists());
        assert!(!old.join("clan/untracked.nix").exists());
        // the repository's own index is untouched
        let status = git_output(top, &["status", "--porcelain"], &[]).unwrap();
        assert!(String::from_utf8_lossy(&status).contains("R  clan/old.nix -> clan/new.nix"));
    }
}
