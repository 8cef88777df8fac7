//! `clanc plan [DIR]`: check the clan, compile the deploy plan, print it (text, JSON, DOT,
//! Mermaid) and optionally save it; `clanc apply --dry-run [PLAN.json|DIR]`: print every
//! command of a plan in order without running any, refusing a stale saved plan (P002).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::diagnostics::{
    Code, ColorChoice, Diagnostic, Report, Severity, Span, render_diagnostics, render_human,
};
use crate::model::deploy_target::{DeployTarget, parse_deploy_target};
use crate::model::machine_selector::parse_selector;
use crate::plan::{self, Fingerprint, Goal, PlanOptions};

use super::check::{Analysis, absolute, analyse, analyse_with_footprints, sources_for};
use super::exit;
use super::ssh_flags::parse_ssh_option;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GoalArg {
    Switch,
    Boot,
    Test,
    DryActivate,
    Build,
    Push,
}

impl GoalArg {
    fn goal(self) -> Goal {
        match self {
            GoalArg::Switch => Goal::Switch,
            GoalArg::Boot => Goal::Boot,
            GoalArg::Test => Goal::Test,
            GoalArg::DryActivate => Goal::DryActivate,
            GoalArg::Build => Goal::Build,
            GoalArg::Push => Goal::Push,
        }
    }
}

/// Where machines are built (`--build-on`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BuildOn {
    /// On the build host (deploy.buildHost, --build-host), else on the target, as clan does
    Target,
    /// Here, then copied to the target (clan's `--build-host localhost`)
    Local,
}

/// What selects and shapes a plan (shared by `plan` and `apply`).
#[derive(Debug, Args)]
pub struct Planning {
    /// Machines to act on: names, globs and tags, `web-*,@tag,!m1`
    #[arg(long, value_name = "SELECTOR")]
    pub on: Option<String>,
    /// What to do on the machines
    #[arg(long, value_enum, default_value_t = GoalArg::Switch)]
    pub goal: GoalArg,
    /// Build every machine on this host (`[user@]host[:port]`, `localhost`: here) instead
    /// of deploy.buildHost or the target
    #[arg(long, value_name = "HOST")]
    pub build_host: Option<String>,
    /// Where to build: on the build host, else the target (clan's default), or here
    #[arg(long, value_enum, default_value_t = BuildOn::Target)]
    pub build_on: BuildOn,
    /// Send the flake's locked inputs to the build host too (`nix flake archive`), rather
    /// than letting it fetch them
    #[arg(long)]
    pub upload_inputs: bool,
    /// Activate this NixOS specialisation of the system
    #[arg(long, value_name = "NAME", value_parser = parse_specialisation)]
    pub specialisation: Option<String>,
    /// Switch past NixOS switch inhibitors (`NIXOS_NO_CHECK=1`)
    #[arg(long)]
    pub no_check: bool,
    /// The profile activation sets; `{machine}` is replaced by the machine's name
    #[arg(long, value_name = "PATH", default_value = plan::step::SYSTEM_PROFILE)]
    pub system_profile: String,
    /// Deploy the one selected machine to this host instead of its deploy.targetHost
    #[arg(long, value_name = "HOST")]
    pub target_host: Option<String>,
    /// Nix's `--builders` for every build, as nix takes it
    #[arg(long, value_name = "SPEC")]
    pub builders: Option<String>,
    /// Where secrets are uploaded on the target; `{machine}` is replaced by the machine's name
    #[arg(long, value_name = "PATH", default_value = plan::step::SECRETS_UPLOAD_DIR)]
    pub upload_dir: String,
    /// Only the machines a change since this git revision affects (default: HEAD when the
    /// work tree has changes, else HEAD~1: what the last commit changed)
    #[arg(long, value_name = "REF", num_args = 0..=1, default_missing_value = "")]
    pub changed_since: Option<String>,
}

/// A specialisation's name: one path component of `{toplevel}/specialisation/`.
fn parse_specialisation(text: &str) -> Result<String, String> {
    let plain = !text.is_empty()
        && text != "."
        && text != ".."
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(text.to_string())
    } else {
        Err("expected a specialisation name (letters, digits, `-`, `_`, `.`)".to_string())
    }
}

/// Whether the clan's `flake.lock` locks an input to a local path (`path`, or a `file://`
/// URL such as `git+file://`): a remote build host cannot fetch it, so clan sends every
/// input (`nix flake archive`), as `--upload-inputs` does. Unreadable: no.
pub fn has_local_inputs(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("flake.lock")) else {
        return false;
    };
    let Ok(lock) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let Some(nodes) = lock.get("nodes").and_then(|n| n.as_object()) else {
        return false;
    };
    nodes.values().any(|node| {
        let Some(locked) = node.get("locked") else {
            return false;
        };
        locked.get("type").and_then(|t| t.as_str()) == Some("path")
            || locked
                .get("url")
                .and_then(|u| u.as_str())
                .is_some_and(|u| u.starts_with("file://"))
    })
}

/// `--build-host`/`--target-host` parsed, or the usage error printed.
fn host_flag(flag: &str, text: Option<&str>) -> Result<Option<DeployTarget>, u8> {
    let Some(text) = text else { return Ok(None) };
    parse_deploy_target(text).map(Some).map_err(|e| {
        eprintln!(
            "error: --{flag} {text}\n{}^ {e}",
            " ".repeat(e.offset + flag.len() + 10)
        );
        exit::USAGE
    })
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The clan directory (the one holding flake.nix)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub planning: Planning,
    /// Output format
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also save the plan as JSON (for `clanc apply PLAN.json`)
    #[arg(short = 'o', long = "output", value_name = "PLAN.json")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub diff: DiffArgs,
}

/// `clanc plan --diff`: build each machine as apply would and compare it with what its
/// target runs.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Build each machine and show what its target gets: unchanged, or the closure's
    /// changes (`nix store diff-closures` against /run/current-system)
    #[arg(long = "diff")]
    pub enabled: bool,
    /// With --diff: an ssh option for every connection (repeatable)
    #[arg(long = "ssh-option", value_name = "KEY=VALUE", value_parser = parse_ssh_option, requires = "enabled")]
    pub ssh_option: Vec<(String, String)>,
    /// With --diff: the ssh identity file
    #[arg(
        short = 'i',
        long = "identity",
        value_name = "FILE",
        requires = "enabled"
    )]
    pub identity: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A saved plan (`clanc plan -o`), or a clan directory to plan now
    #[arg(default_value = ".")]
    pub plan: PathBuf,
    /// Print every command in order; run nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub planning: Planning,
    /// Run without asking (required without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How many steps run at once
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub parallel: usize,
    /// Start nothing more after the first failure
    #[arg(long)]
    pub fail_fast: bool,
    /// An ssh option for every connection (repeatable), like `StrictHostKeyChecking=yes`
    #[arg(long = "ssh-option", value_name = "KEY=VALUE", value_parser = parse_ssh_option)]
    pub ssh_option: Vec<(String, String)>,
    /// The ssh identity file
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Keep an activation even when clanc cannot confirm it over a new ssh connection (and
    /// do not roll back a failed one)
    #[arg(long)]
    pub no_rollback: bool,
    /// How long a target waits for the confirmation before it rolls back on its own
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub confirm_timeout: u64,
    /// Plain timestamped lines with every command's output, also on a terminal
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `clanc apply`'s exit status when Ctrl-C stopped the run (128 + SIGINT, as shells do).
const INTERRUPTED: u8 = 130;

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe is the reader's choice; the status still says.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `clanc.toml` at the clan's root: its text (hashed into the fingerprint) and `[order]`.
/// `[order]`: instance -> roles, first first.
type ConfiguredOrder = BTreeMap<String, Vec<String>>;

fn read_config(dir: &Path) -> Result<(Option<String>, ConfiguredOrder), String> {
    let path = dir.join("clanc.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, BTreeMap::new())),
        Err(e) => return Err(format!("cannot read clanc.toml: {e}")),
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        order: BTreeMap<String, Vec<String>>,
    }
    let config: Config =
        toml::from_str(&text).map_err(|e| format!("clanc.toml: {}", e.message()))?;
    Ok((Some(text), config.order))
}

fn fingerprint(analysis: &Analysis, config: Option<&str>) -> Fingerprint {
    let db = &analysis.db;
    let mut files: Vec<(&str, &[u8])> = analysis
        .texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_bytes()))
        .collect();
    if let Some(text) = config {
        files.push(("clanc.toml", text.as_bytes()));
    }
    let dirs = analysis.workspace.dirs(db).iter().map(|d| {
        (
            d.path(db).as_str(),
            d.entries(db).iter().map(|e| e.name.as_str()).collect(),
        )
    });
    Fingerprint::compute(files, dirs, env!("CARGO_PKG_VERSION"))
}

/// Loads, checks and plans `dir`; on check errors prints them and returns the exit status.
fn make_plan(dir: &Path, planning: &Planning, color: ColorChoice) -> Result<plan::Plan, u8> {
    let selector = match &planning.on {
        None => None,
        Some(text) => match parse_selector(text) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: --on {text}\n{}^ {e}", " ".repeat(e.offset + 8));
                return Err(exit::USAGE);
            }
        },
    };
    // clan's `--build-host localhost`: build here
    let build_here = planning.build_host.as_deref() == Some("localhost");
    let build_host = match build_here {
        true => None,
        false => host_flag("build-host", planning.build_host.as_deref())?,
    };
    if build_host.is_some() && planning.build_on == BuildOn::Local {
        eprintln!("error: --build-on local and --build-host HOST contradict each other");
        return Err(exit::USAGE);
    }
    let target_host = host_flag("target-host", planning.target_host.as_deref())?;
    if !planning.upload_dir.starts_with('/') {
        eprintln!(
            "error: --upload-dir {}: expected an absolute path",
            planning.upload_dir
        );
        return Err(exit::USAGE);
    }
    let (config, configured_order) = read_config(dir).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let (analysis, footprints) = match planning.changed_since {
        Some(_) => analyse_with_footprints(dir).map(|(a, f)| (a, Some(f))),
        None => analyse(dir).map(|a| (a, None)),
    }
    .map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    if !errors.is_empty() {
        let count = errors.len();
        let report = Report::new(errors, analysis.texts.len());
        let sources = sources_for(&report, &analysis.texts);
        let text = render_human(
            &report,
            &sources,
            color.enabled(std::io::stderr().is_terminal()),
            100,
        );
        eprint!("{text}");
        eprintln!("error: no plan: `clanc check` found {count} error(s)");
        return Err(exit::FOUND_ERRORS);
    }
    let changed = match (&planning.changed_since, &footprints) {
        (Some(rev), Some(footprints)) => {
            match super::changed::changed_since(&absolute(dir), rev, &analysis, footprints) {
                Ok(changed) => Some(changed),
                Err(e) => {
                    eprintln!("error: --changed-since: {e}");
                    return Err(exit::USAGE);
                }
            }
        }
        _ => None,
    };
    let options = PlanOptions {
        flake: absolute(dir).to_string_lossy().into_owned(),
        goal: planning.goal.goal(),
        selector,
        build_host,
        build_local: build_here || planning.build_on == BuildOn::Local,
        source_upload: if planning.upload_inputs || has_local_inputs(dir) {
            plan::SourceUpload::WithInputs
        } else {
            plan::SourceUpload::SourceOnly
        },
        activation: plan::step::Activation {
            specialisation: planning.specialisation.clone(),
            no_check: planning.no_check,
        },
        local_is_darwin: cfg!(target_os = "macos"),
        configured_order,
        fingerprint: fingerprint(&analysis, config.as_deref()),
        system_profile: planning.system_profile.clone(),
        target_host,
        builders: planning.builders.clone(),
        upload_dir: planning.upload_dir.clone(),
        changed,
    };
    let plan = plan::make_plan(&analysis.clan, &analysis.listing, &options);
    if options.target_host.is_some() && plan.machines.len() != 1 {
        eprintln!(
            "error: --target-host needs exactly one machine; {} are selected (pick one with --on)",
            plan.machines.len()
        );
        return Err(exit::USAGE);
    }
    Ok(plan)
}

/// `--diff`: builds the plan's machines and compares them with their targets (every
/// selected machine gets a diff, `unknown` with the reason when it cannot be compared).
/// Ok(true): Ctrl-C stopped it.
fn add_diffs(plan: &mut plan::Plan, args: &DiffArgs) -> Result<bool, u8> {
    let (steps, mut diffs) = plan::diff_steps(plan);
    let mut interrupted = false;
    if !steps.is_empty() {
        let options = crate::exec::DiffOptions {
            parallel: 10,
            ssh: crate::exec::SshOptions {
                options: args.ssh_option.clone(),
                identity: args.identity.clone(),
            },
            verbose: false,
        };
        let found = crate::exec::diff(Path::new(&plan.flake), &steps, &options).map_err(|e| {
            eprintln!("error: {e}");
            exit::USAGE
        })?;
        diffs.extend(found.diffs);
        interrupted = found.interrupted;
    }
    for (name, diff) in diffs {
        if let Some(machine) = plan.machines.get_mut(&name) {
            machine.diff = Some(diff);
        }
    }
    Ok(interrupted)
}

pub fn run_plan(args: &PlanArgs, color: ColorChoice) -> u8 {
    let mut plan = match make_plan(&args.dir, &args.planning, color) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let interrupted = match args.diff.enabled {
        true => match add_diffs(&mut plan, &args.diff) {
            Ok(interrupted) => interrupted,
            Err(code) => return code,
        },
        false => false,
    };
    if let Some(path) = &args.output
        && let Err(e) = std::fs::write(path, plan::render_json(&plan))
    {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return exit::USAGE;
    }
    print(&match args.format {
        PlanFormat::Text => plan::render_text(&plan),
        PlanFormat::Json => plan::render_json(&plan),
        PlanFormat::Dot => plan::render_dot(&plan),
        PlanFormat::Mermaid => plan::render_mermaid(&plan),
    });
    if interrupted { INTERRUPTED } else { exit::OK }
}

pub fn run_apply(args: &ApplyArgs, color: ColorChoice) -> u8 {
    let saved = if args.plan.is_dir() {
        match make_plan(&args.plan, &args.planning, color) {
            Ok(plan) => plan::plan_json(&plan),
            Err(code) => return code,
        }
    } else {
        let text = match std::fs::read_to_string(&args.plan) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", args.plan.display());
                return exit::USAGE;
            }
        };
        let saved = match plan::parse_plan_json(&text) {
            Ok(saved) => saved,
            Err(e) => {
                eprintln!("error: `{}`: {e}", args.plan.display());
                return exit::USAGE;
            }
        };
        if let Err(reason) = still_fresh(&saved) {
            let file = args.plan.display().to_string();
            let stale = Diagnostic::error(
                Code::P002,
                reason,
                Span::new(file.as_str(), rnix::TextRange::empty(0.into())),
            )
            .with_help(format!(
                "make the plan again: clanc plan {} -o {file}",
                saved.flake
            ));
            let mut sources = crate::diagnostics::Sources::new();
            sources.insert(file, std::sync::Arc::from(text.as_str()));
            let shown = render_diagnostics(
                &[stale],
                &sources,
                color.enabled(std::io::stderr().is_terminal()),
                100,
            );
            eprint!("{shown}");
            return exit::FOUND_ERRORS;
        }
        saved
    };
    if args.dry_run {
        print(&plan::render_commands(&saved.steps));
        // What the plan leaves out, and why: a machine the run does not touch is said so.
        for (name, machine) in &saved.machines {
            if let Some(reason) = &machine.skipped {
                println!("[skipped:{name}] {reason}");
            }
        }
        return exit::OK;
    }
    execute(args, &saved)
}

/// Runs a plan: confirmation (or `--yes`), then the executor; 0 all succeeded, 1 any
/// failed or rolled back, 2 a plan or usage problem, 130 stopped by Ctrl-C.
fn execute(args: &ApplyArgs, saved: &plan::PlanJson) -> u8 {
    let Some(goal) = Goal::parse(&saved.goal) else {
        eprintln!("error: the plan's goal `{}` is unknown", saved.goal);
        return exit::USAGE;
    };
    let mut steps = Vec::with_capacity(saved.steps.len());
    for step in &saved.steps {
        let (Some(kind), Some(host)) = (
            plan::StepKind::parse(&step.kind),
            plan::Host::parse(&step.host),
        ) else {
            eprintln!("error: step {} has an unknown kind or host", step.id);
            return exit::USAGE;
        };
        steps.push(plan::Step {
            id: step.id.clone(),
            kind,
            machine: step.machine.clone(),
            host,
            commands: step.argv.clone(),
            after: step.after.clone(),
        });
    }
    if let Err(e) = crate::exec::validate(&steps) {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    let skipped: BTreeMap<String, String> = saved
        .machines
        .iter()
        .filter_map(|(m, j)| j.skipped.clone().map(|why| (m.clone(), why)))
        .collect();
    let acting = saved.machines.len() - skipped.len();
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!("error: `clanc apply` needs --yes when it cannot ask (no terminal)");
            return exit::USAGE;
        }
        print(&plan::render_commands(&saved.steps));
        print(&format!(
            "\n{} on {acting} machine(s), {} step(s). Go ahead? [y/N] ",
            saved.goal,
            steps.len()
        ));
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing done");
            return exit::USAGE;
        }
    }
    let options = crate::exec::ApplyOptions {
        parallel: args.parallel.max(1),
        fail_fast: args.fail_fast,
        ssh: crate::exec::SshOptions {
            options: args.ssh_option.clone(),
            identity: args.identity.clone(),
        },
        rollback: !args.no_rollback,
        confirm_timeout_secs: args.confirm_timeout,
        verbose: args.verbose,
    };
    match crate::exec::apply(Path::new(&saved.flake), goal, &steps, &skipped, &options) {
        Ok(applied) if applied.interrupted => INTERRUPTED,
        Ok(applied) if applied.rows.iter().any(|r| r.failed) => exit::FOUND_ERRORS,
        Ok(_) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}

/// Whether the clan a saved plan was made from still has the same inputs.
fn still_fresh(saved: &plan::PlanJson) -> Result<(), String> {
    let dir = Path::new(&saved.flake);
    let (config, _) = read_config(dir)?;
    let analysis = analyse(dir).map_err(|e| format!("stale plan: {e}"))?;
    let current = fingerprint(&analysis, config.as_deref());
    let recorded = Fingerprint {
        digest: saved.fingerprint.clone(),
        clanc_version: saved.clanc_version.clone(),
        inputs: saved.inputs.clone(),
    };
    match recorded.stale_reason(&current) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}
