//! `clanc check --watch`: check, then check again after every change to the clan's files
//! (changes arriving within 100 ms are taken together), clearing a terminal between runs and
//! saying how long each run took.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use super::check::{CheckArgs, check_once};
use super::exit;
use crate::diagnostics::ColorChoice;

pub fn run(args: &CheckArgs, color: ColorChoice) -> u8 {
    if !args.dir.is_dir() {
        eprintln!("error: `{}` is not a directory", args.dir.display());
        return exit::USAGE;
    }
    let (tx, rx) = mpsc::channel();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot watch for changes: {e}");
            return exit::USAGE;
        }
    };
    if let Err(e) = watcher.watch(&args.dir, RecursiveMode::Recursive) {
        eprintln!("error: cannot watch `{}`: {e}", args.dir.display());
        return exit::USAGE;
    }
    let terminal = std::io::stdout().is_terminal();
    loop {
        if terminal {
            print!("\x1b[2J\x1b[H");
        }
        let started = Instant::now();
        check_once(args, color);
        eprintln!(
            "[clanc] checked in {:.1} ms; watching {} for changes",
            started.elapsed().as_secs_f64() * 1000.0,
            args.dir.display()
        );
        // Wait for a relevant change, then for a quiet 100 ms.
        loop {
            match rx.recv() {
                Ok(Ok(event)) if event.paths.iter().any(|p| is_relevant(&args.dir, p)) => break,
                Ok(_) => {}
                Err(_) => return exit::USAGE,
            }
        }
        while rx.recv_timeout(Duration::from_millis(100)).is_ok() {}
    }
}

/// Files that can change the result: Nix files, the lock, inventory.json, vars/ and sops/,
/// .gitignore; nothing under .git/ or result links.
fn is_relevant(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let rel = rel.to_string_lossy();
    if rel.starts_with(".git/") || rel == ".git" || rel.starts_with("result") {
        return false;
    }
    rel.ends_with(".nix")
        || rel.ends_with(".gitignore")
        || rel == "flake.lock"
        || rel == "inventory.json"
        || rel.starts_with("vars/")
        || rel.starts_with("sops/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clan_files_trigger_a_run() {
        let root = Path::new("/c");
        for yes in [
            "/c/modules/a.nix",
            "/c/flake.lock",
            "/c/vars/per-machine/m/g/f/value",
            "/c/.gitignore",
        ] {
            assert!(is_relevant(root, Path::new(yes)), "{yes}");
        }
        for no in [
            "/c/.git/index",
            "/c/README.md",
            "/c/result/x.nix",
            "/elsewhere/a.nix",
        ] {
            assert!(!is_relevant(root, Path::new(no)), "{no}");
        }
    }
}
