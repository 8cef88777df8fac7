//! `clanc check --watch`: check, then check again after every change to the clan's files
//! (changes arriving within 100 ms are taken together), clearing a terminal between runs and
//! saying how long each run took. The clan stays loaded between runs: a run reads the disk
//! again but parses and lowers only the files that changed (salsa), and keeps the model when
//! the change cannot alter it (`analysis::ModelMemo`), as the language server does.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use super::check::{CheckArgs, absolute, print_report};
use super::exit;
use crate::analysis::AnalysisHost;
use crate::diagnostics::ColorChoice;

/// Checks the clan as loaded and prints the report.
fn check(host: &mut AnalysisHost, args: &CheckArgs, color: ColorChoice, started: Instant) {
    let analysis = host.check(args.explain_unknown);
    let texts = host.texts();
    let summary = crate::cache::Summary::of(&analysis.clan);
    let sources = (&texts, texts.len());
    print_report(
        args,
        color,
        started,
        sources,
        analysis.diagnostics,
        &summary,
    );
    // `analysis.garbage` (the evaluation) is freed here, before waiting for a change.
}

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
    // Events name absolute paths: compare them with the absolute directory (`--watch .`).
    let root = absolute(&args.dir);
    if let Err(e) = watcher.watch(&root, RecursiveMode::Recursive) {
        eprintln!("error: cannot watch `{}`: {e}", args.dir.display());
        return exit::USAGE;
    }
    let terminal = std::io::stdout().is_terminal();
    let mut session: Option<AnalysisHost> = None;
    loop {
        if terminal {
            print!("\x1b[2J\x1b[H");
        }
        let started = Instant::now();
        // The first run loads the clan; later runs take what changed (a failed load is tried
        // again from scratch after the next change).
        let ready = match session.take() {
            Some(mut s) => s.refresh().map(|_| s),
            None => {
                let cache_dir = args.cache_dir.as_deref();
                let kept = || crate::cache::lowered_files_kept_for(&args.dir, cache_dir);
                AnalysisHost::load_lowering_from(&args.dir, (!args.no_cache).then(kept).flatten())
            }
        };
        match ready {
            Ok(mut s) => {
                check(&mut s, args, color, started);
                session = Some(s);
            }
            Err(e) => eprintln!("error: {e}"),
        }
        eprintln!(
            "[clanc] checked in {:.1} ms; watching {} for changes",
            started.elapsed().as_secs_f64() * 1000.0,
            args.dir.display()
        );
        // Wait for a relevant change, then for a quiet 100 ms.
        loop {
            match rx.recv() {
                Ok(Ok(event))
                    if is_change(&event.kind)
                        && event.paths.iter().any(|p| is_relevant(&root, p)) =>
                {
                    break;
                }
                Ok(_) => {}
                Err(_) => return exit::USAGE,
            }
        }
        while rx.recv_timeout(Duration::from_millis(100)).is_ok() {}
    }
}

/// Whether an event says that something clanc reads changed. Reading a file is an event too
/// (inotify's open and close, and the access time it updates): each run reads the clan, so
/// counting those would run again and again. Metadata (modes, owners, times) is not read.
fn is_change(kind: &notify::EventKind) -> bool {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => false,
        _ => true,
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
    fn reading_is_not_a_change() {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, MetadataKind, ModifyKind};
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }

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
