//! `git` in the clan's repository: committing what `clanc vars generate --commit` wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

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
