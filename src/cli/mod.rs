//! The command line: argument types (clap) and one module per subcommand.

mod changed;
mod check;
mod eval;
mod install;
mod installed_at;
mod inventory;
mod machines;
mod plan;
mod ssh_flags;
mod terminal;
mod vars;
mod watch;
mod why;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::diagnostics::ColorChoice;

pub use crate::files::DiskFiles;
pub use check::{CheckArgs, Format};
pub use eval::{EvalArgs, EvalOutput, evaluate};

/// clanc: check, plan and deploy clan fleets without evaluating Nix.
#[derive(Debug, Parser)]
#[command(name = "clanc", version, about, propagate_version = true)]
pub struct Cli {
    /// When to colour output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a clan: syntax, evaluation and inventory mistakes
    Check(CheckArgs),
    /// Print the clan's inventory as clan-core resolves it
    Inventory(inventory::InventoryArgs),
    /// Work with the clan's vars and secrets
    Vars {
        #[command(subcommand)]
        command: vars::VarsCommand,
    },
    /// Show the deploy plan: what `apply` will run, machine by machine, in order
    Plan(plan::PlanArgs),
    /// Run a deploy plan (`--dry-run`: print its commands)
    Apply(plan::ApplyArgs),
    /// Install NixOS on a machine with nixos-anywhere, secrets included (`machines install`)
    Install(install::InstallArgs),
    /// clan's machine commands: `update` deploys (an alias of `apply`), `install`
    Machines {
        #[command(subcommand)]
        command: machines::MachinesCommand,
    },
    /// Run the language server on stdin/stdout
    Lsp,
    /// Evaluate a Nix file or expression with clanc's own evaluator
    Eval(EvalArgs),
    /// Print a shell completion script
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Exit status: 0 fine, 1 the check found errors (or evaluation failed), 2 usage or I/O
/// problems, 3 (`eval`) the value contains unknowns.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FOUND_ERRORS: u8 = 1;
    pub const USAGE: u8 = 2;
}

pub fn run(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Command::Check(args) => check::run(&args, cli.color),
        Command::Inventory(args) => inventory::run(&args),
        Command::Vars { command } => vars::run(&command, cli.color),
        Command::Plan(args) => plan::run_plan(&args, cli.color),
        Command::Apply(args) => plan::run_apply(&args, cli.color),
        Command::Machines { command } => machines::run(&command, cli.color),
        Command::Install(args) => install::run(&args),
        Command::Lsp => crate::lsp::run_stdio(),
        Command::Eval(args) => eval::run(&args, cli.color),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "clanc", &mut std::io::stdout());
            exit::OK
        }
    };
    ExitCode::from(code)
}
