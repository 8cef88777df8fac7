//! `clanc check [DIR]`: load the clan, run every check, print the report.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::analysis::AnalysisHost;
use crate::cache::{Store, Summary};
use crate::check::VarsListing;
use crate::db::Database;
use crate::diagnostics::Diagnostic;
use crate::diagnostics::{
    ColorChoice, Report, Severity, Sources, render_github, render_human, render_json,
};
use crate::loader;

use super::exit;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The clan directory (the one holding flake.nix)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
    /// Check again whenever a file of the clan changes (until interrupted)
    #[arg(long)]
    pub watch: bool,
    /// Also list what could not be checked because its value is unknown, and why
    #[arg(long)]
    pub explain_unknown: bool,
    /// Leave the time out of the summary line (for reproducible output)
    #[arg(long, hide = true)]
    pub no_timing: bool,
    /// Neither read nor write the cache of earlier checks
    #[arg(long)]
    pub no_cache: bool,
    /// Where the cache of earlier checks lives [default: $XDG_CACHE_HOME/clanc, else ~/.cache/clanc]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Say on stderr whether the cache answered (for tests)
    #[arg(long, hide = true)]
    pub cache_stats: bool,
    /// Keep only the vars and secrets diagnostics (V and S codes): `clanc vars check`
    #[arg(skip)]
    pub only_vars: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-style reports with source snippets
    Human,
    /// One JSON document (version 1)
    Json,
    /// GitHub Actions workflow commands
    Github,
}

pub fn run(args: &CheckArgs, color: ColorChoice) -> u8 {
    if args.watch {
        return super::watch::run(args, color);
    }
    check_once(args, color)
}

/// A loaded and checked clan: what `check` reports and what `plan` builds on.
pub(super) struct Analysis {
    pub db: Database,
    pub workspace: crate::db::Workspace,
    /// Every file's text by relative path.
    pub texts: HashMap<String, Arc<str>>,
    pub diagnostics: Vec<Diagnostic>,
    pub clan: crate::model::Clan,
    pub listing: VarsListing,
    /// The evaluation behind `clan` (see `eval::Garbage`).
    pub garbage: crate::eval::Garbage,
}

/// Loads the clan at `dir` (its files taken as the last `clanc check` lowered them, when the
/// cache keeps them), builds the model and runs every check.
pub(super) fn analyse(dir: &std::path::Path) -> Result<Analysis, loader::LoadError> {
    analyse_with(
        dir,
        false,
        false,
        crate::cache::lowered_files_kept_for(dir, None),
    )
    .map(|(a, _)| a)
}

/// [`analyse`], with the machines' footprints (`plan --changed-since`).
pub(super) fn analyse_with_footprints(
    dir: &std::path::Path,
) -> Result<(Analysis, crate::model::footprint::Footprints), loader::LoadError> {
    let lowered_before = crate::cache::lowered_files_kept_for(dir, None);
    analyse_with(dir, false, true, lowered_before).map(|(a, f)| (a, f.unwrap_or_default()))
}

fn analyse_with(
    dir: &std::path::Path,
    explain_unknown: bool,
    with_footprints: bool,
    lowered_before: Option<std::sync::Arc<crate::eval::LoweredPack>>,
) -> Result<(Analysis, Option<crate::model::footprint::Footprints>), loader::LoadError> {
    let mut host = AnalysisHost::load_lowering_from(dir, lowered_before)?;
    let (analysis, footprints) = if with_footprints {
        let (a, f) = host.check_with_footprints();
        (a, Some(f))
    } else {
        (host.check(explain_unknown), None)
    };
    let texts = host.texts();
    let listing = host.vars_listing();
    let workspace = host.workspace();
    // The memo's share of the model goes with the host: the model is this analysis's alone.
    let db = host.into_db();
    drop(analysis.memo);
    Ok((
        Analysis {
            db,
            workspace,
            texts,
            diagnostics: analysis.diagnostics,
            clan: std::sync::Arc::unwrap_or_clone(analysis.clan),
            listing,
            garbage: analysis.garbage,
        },
        footprints,
    ))
}

/// The sources diagnostics point into, for the renderers.
pub(super) fn sources_for(report: &Report, texts: &HashMap<String, Arc<str>>) -> Sources {
    let mut sources = Sources::new();
    let spans = report
        .diagnostics
        .iter()
        .flat_map(|d| std::iter::once(&d.span).chain(d.labels.iter().map(|l| &l.span)));
    for span in spans {
        if sources.text(&span.file).is_none()
            && let Some(text) = texts.get(&*span.file)
        {
            sources.insert(span.file.to_string(), Arc::clone(text));
        }
    }
    sources
}

/// Loads the clan, checks it, prints the report; returns the exit status.
pub fn check_once(args: &CheckArgs, color: ColorChoice) -> u8 {
    let started = std::time::Instant::now();
    let store = (!args.no_cache).then(|| Store::locate(args.cache_dir.as_deref()));
    if let Some(store) = store.flatten() {
        return check_cached(args, color, started, &store);
    }
    if args.cache_stats {
        eprintln!("cache: off");
    }
    let analysis = match analyse_with(&args.dir, args.explain_unknown, false, None) {
        Ok((analysis, _)) => analysis,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let Analysis {
        texts,
        diagnostics,
        clan,
        garbage,
        ..
    } = analysis;
    garbage.leak(); // the process exits next: freeing it would only cost time
    let files = texts.len();
    print_report(
        args,
        color,
        started,
        (&texts, files),
        diagnostics,
        &Summary::of(&clan),
    )
}

/// [`check_once`] answered from the cache in `store` when it holds.
fn check_cached(
    args: &CheckArgs,
    color: ColorChoice,
    started: std::time::Instant,
    store: &Store,
) -> u8 {
    let root = absolute(&args.dir);
    let checked = match crate::cache::check(&args.dir, &root, args.explain_unknown, store) {
        Ok(checked) => checked,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if args.cache_stats {
        eprintln!("cache: {}", checked.outcome);
    }
    if let Some(garbage) = checked.garbage {
        garbage.leak(); // as in `check_once`
    }
    let sources = (&checked.texts, checked.files);
    print_report(
        args,
        color,
        started,
        sources,
        checked.diagnostics,
        &checked.summary,
    )
}

/// Prints the report of a check that started at `started` of a clan of `files` files, with
/// `texts` holding (at least) those the diagnostics point into; returns the exit status.
pub(super) fn print_report(
    args: &CheckArgs,
    color: ColorChoice,
    started: std::time::Instant,
    (texts, files): (&HashMap<String, Arc<str>>, usize),
    mut diagnostics: Vec<Diagnostic>,
    summary: &Summary,
) -> u8 {
    if args.only_vars {
        diagnostics
            .retain(|d| d.code.as_str().starts_with('V') || d.code.as_str().starts_with('S'));
    }
    let mut report = Report::new(diagnostics, files);
    match &summary.unknown {
        Some(reason) => report.clan_unknown = Some(reason.clone()),
        None => {
            report.machines = Some(summary.machines);
            report.instances = Some(summary.instances);
        }
    }
    if !args.no_timing {
        report.elapsed_ms = Some(started.elapsed().as_millis());
    }

    // The renderers need the texts of the files diagnostics point into.
    let sources = sources_for(&report, texts);

    let stdout = std::io::stdout();
    let output = match args.format {
        Format::Human => {
            let width = std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(100);
            render_human(
                &report,
                &sources,
                color.enabled(stdout.is_terminal()),
                width,
            )
        }
        Format::Json => render_json(&report, &sources),
        Format::Github => render_github(&report, &sources),
    };
    let mut lock = stdout.lock();
    if lock
        .write_all(output.as_bytes())
        .and_then(|()| lock.flush())
        .is_err()
    {
        // A closed pipe (`clanc check | head`) is not worth a panic; the status still says.
    }

    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        exit::FOUND_ERRORS
    } else {
        exit::OK
    }
}

/// The clan directory as an absolute, canonical path (the evaluator works with those).
pub fn absolute(path: &std::path::Path) -> PathBuf {
    loader::absolute(path)
}
