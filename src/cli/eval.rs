//! `clanc eval`: evaluate a Nix file or expression with clanc's own evaluator and print the
//! result like `nix-instantiate --eval` does. This is where the evaluator's files come from
//! the disk (`crate::files::DiskFiles`); the evaluator itself does no I/O.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use crate::db::Database;
use crate::diagnostics::{ColorChoice, Report, Sources, Span, render_human};
use crate::eval::{EvalError, Evaluator, Limits, Value};

use super::exit;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The file to evaluate (a directory means its default.nix)
    #[arg(required_unless_present = "expr", conflicts_with = "expr")]
    pub file: Option<PathBuf>,
    /// Evaluate this expression instead of a file (relative paths resolve against the
    /// current directory)
    #[arg(long, short = 'E')]
    pub expr: Option<String>,
    /// Evaluate the result fully (as `nix-instantiate --eval --strict`); without it, Nix
    /// syntax output shows values not computed yet as `<CODE>` (JSON is always complete)
    #[arg(long)]
    pub strict: bool,
    /// Print JSON (as `nix-instantiate --eval --json`)
    #[arg(long)]
    pub json: bool,
    /// Select an attribute path inside the result (`a.b.0.c`; numbers index lists)
    #[arg(long, short = 'A')]
    pub attr: Option<String>,
    /// Maximum nesting depth of evaluation
    #[arg(long, default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Maximum number of evaluation steps
    #[arg(long, default_value_t = Limits::default().max_steps)]
    pub max_steps: u64,
}

/// Exit status 3: the value was printed but contains unknowns.
pub const UNKNOWN: u8 = 3;

/// The outcome of `clanc eval`, for the CLI and for tests.
pub struct EvalOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

fn select(ev: &mut Evaluator, mut v: Value, attr: &str) -> Result<Value, Box<EvalError>> {
    for part in attr.split('.').filter(|p| !p.is_empty()) {
        v = ev.auto_call(v)?;
        v = match v {
            Value::Attrs(a) => match a.get(part) {
                Some(t) => {
                    let t = t.clone();
                    ev.force_value(&t)?
                }
                None => {
                    return Err(EvalError::eval(
                        format!("attribute '{part}' in selection path '{attr}' not found"),
                        None,
                    ));
                }
            },
            Value::List(l) => match part.parse::<usize>().ok().and_then(|i| l.get(i)) {
                Some(t) => {
                    let t = t.clone();
                    ev.force_value(&t)?
                }
                None => {
                    return Err(EvalError::eval(
                        format!("list index '{part}' in selection path '{attr}' is out of bounds"),
                        None,
                    ));
                }
            },
            Value::Unknown(u) => return Ok(Value::Unknown(u)),
            other => {
                return Err(EvalError::eval(
                    format!(
                        "the expression selected by the selection path '{attr}' should be a set but is {}",
                        other.describe()
                    ),
                    None,
                ));
            }
        };
    }
    Ok(v)
}

/// Runs `clanc eval` and returns what it prints and its exit status.
pub fn evaluate(args: &EvalArgs, color: bool) -> EvalOutput {
    let db = Database::default();
    let files = crate::files::DiskFiles::default();
    let limits = Limits {
        max_depth: args.max_depth,
        max_steps: args.max_steps,
        // An expression or file on its own, as `nix-instantiate --eval` reads it.
        pure: false,
        ..Limits::default()
    };
    let mut ev = Evaluator::new(&db, &files, limits);
    let result = (|| {
        let value = match (&args.expr, &args.file) {
            (Some(expr), _) => {
                let cwd = std::env::current_dir()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| "/".into());
                ev.eval_text(expr, &cwd)?
            }
            (None, Some(file)) => {
                let path = absolute(file).to_string_lossy().into_owned();
                ev.eval_file(&crate::eval::canon_path(&path))?
            }
            (None, None) => return Err(EvalError::eval("no file or expression given", None)),
        };
        let value = match &args.attr {
            Some(attr) => select(&mut ev, value, attr)?,
            None => value,
        };
        if args.json {
            crate::eval::print_json(&mut ev, &value)
        } else {
            crate::eval::print_nix(&mut ev, &value, args.strict)
        }
    })();
    let mut stderr = String::new();
    for line in &ev.trace_output {
        stderr.push_str(line);
        stderr.push('\n');
    }
    match result {
        Ok(printed) => {
            let code = if printed.unknowns.is_empty() {
                exit::OK
            } else {
                UNKNOWN
            };
            // Say why each distinct unknown could not be known, and where it came from.
            let mut seen = Vec::new();
            for unknown in &printed.unknowns {
                if seen.contains(&unknown) {
                    continue;
                }
                seen.push(unknown);
                match unknown.origin {
                    Some(pos) => stderr.push_str(&format!(
                        "note: unknown: {} (from {})\n",
                        unknown.reason,
                        ev.describe_pos(pos)
                    )),
                    None => stderr.push_str(&format!("note: unknown: {}\n", unknown.reason)),
                }
            }
            // Like nix-instantiate: a newline after Nix syntax, none after JSON.
            let newline = if args.json { "" } else { "\n" };
            EvalOutput {
                stdout: format!("{}{newline}", printed.text),
                stderr,
                code,
            }
        }
        Err(error) => {
            let fallback = Span::new("«command line»", rnix::TextRange::empty(0.into()));
            let diagnostic = error.to_diagnostic(&|f| ev.file_path(f), fallback);
            let mut sources = Sources::new();
            for (path, text) in ev.sources() {
                sources.insert(path.to_string(), text.clone());
            }
            let report = Report::new(vec![diagnostic], ev.sources().count());
            stderr.push_str(&render_human(&report, &sources, color, 100));
            EvalOutput {
                stdout: String::new(),
                stderr,
                code: exit::FOUND_ERRORS,
            }
        }
    }
}

pub fn run(args: &EvalArgs, color: ColorChoice) -> u8 {
    let out = evaluate(args, color.enabled(std::io::stderr().is_terminal()));
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    out.code
}
