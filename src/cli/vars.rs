//! `clanc vars ...`: the clan's vars. `generate` runs the generators that are missing,
//! `check` reports the vars and secrets diagnostics, `list` shows a machine's vars (secrets
//! masked), `get` prints one value, decrypting a secret with the admin's age key
//! (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, or `~/.config/sops/age/keys.txt`).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use zeroize::Zeroizing;

use crate::analysis::AnalysisHost;
use crate::diagnostics::{ColorChoice, Severity};
use crate::exec::vars_generate::{self as generate, Environment, GenerateError, Request};
use crate::exec::vars_generator::Sandbox;
use crate::model::vars::generator::{PromptKind, PromptSpec};
use crate::model::{Clan, Known};
use crate::vars::keys::{self, AdminKeySource};
use crate::vars::sops;
use crate::vars::store::{StoredKind, VarsTree};

use super::check::{CheckArgs, Format};
use super::ssh_flags::SshFlags;
use super::{exit, terminal};

/// Exit status of a generation stopped by Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// Run the vars generators that have not run yet (and what depends on them)
    Generate {
        /// The clan directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Only this machine (repeatable; default: every machine)
        #[arg(long = "machine", value_name = "MACHINE")]
        machines: Vec<String>,
        /// Only this generator (repeatable), plus what it needs and what depends on it
        #[arg(long = "generator", value_name = "GENERATOR")]
        generators: Vec<String>,
        /// Run the generators again even if their files exist
        #[arg(long)]
        regenerate: bool,
        /// A prompt's answer, as GENERATOR/PROMPT=VALUE (repeatable)
        #[arg(long = "prompt", value_name = "GEN/NAME=VALUE")]
        prompts: Vec<String>,
        /// A prompt's answer read from a file, as GENERATOR/PROMPT=PATH (repeatable)
        #[arg(long = "prompt-file", value_name = "GEN/NAME=PATH")]
        prompt_files: Vec<String>,
        /// Commit the new files with git
        #[arg(long)]
        commit: bool,
    },
    /// Check the vars and secrets: V and S diagnostics of `clanc check`
    Check {
        /// The clan directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// List a machine's vars: public values, secrets as ********, missing as `<not set>`
    List {
        /// The machine
        machine: String,
        /// The clan directory
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a var of a machine (secrets are decrypted with the admin key)
    Get {
        /// The machine
        machine: String,
        /// The var, as GENERATOR/FILE
        var: String,
        /// The clan directory
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Upload a machine's age key and activation secrets to it (`clanc apply` does this
    /// before activation)
    Upload {
        /// The clan directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The machine whose secrets to upload
        #[arg(long, value_name = "MACHINE")]
        machine: String,
        /// Where to, `[user@]host[:port]` (default: the machine's deploy.targetHost)
        #[arg(long, value_name = "HOST")]
        target_host: Option<String>,
        /// The directory on the target that receives the secrets
        #[arg(long, value_name = "PATH", default_value = crate::exec::DEFAULT_UPLOAD_DIR)]
        upload_dir: String,
        #[command(flatten)]
        ssh: SshFlags,
    },
}

pub fn run(command: &VarsCommand, color: ColorChoice) -> u8 {
    match command {
        VarsCommand::Generate {
            dir,
            machines,
            generators,
            regenerate,
            prompts,
            prompt_files,
            commit,
        } => {
            let request = Request {
                machines: machines.clone(),
                generators: generators.clone(),
                regenerate: *regenerate,
            };
            match run_generate(dir, &request, prompts, prompt_files, *commit) {
                Ok(()) => exit::OK,
                Err((code, message)) => {
                    eprintln!("error: {message}");
                    code
                }
            }
        }
        VarsCommand::Check { dir, format } => {
            let args = CheckArgs {
                dir: dir.clone(),
                format: *format,
                deny_warnings: false,
                watch: false,
                explain_unknown: false,
                no_timing: false,
                // `vars check` reports a part of the check: the cache is `clanc check`'s
                no_cache: true,
                cache_dir: None,
                cache_stats: false,
                only_vars: true,
            };
            super::check::check_once(&args, color)
        }
        VarsCommand::List { machine, dir } => match list(machine, dir) {
            Ok((text, partial)) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
                for reason in partial {
                    eprintln!("note: the list is partial: {reason}");
                }
                exit::OK
            }
            Err((code, message)) => {
                eprintln!("error: {message}");
                code
            }
        },
        VarsCommand::Upload {
            dir,
            machine,
            target_host,
            upload_dir,
            ssh,
        } => match upload(dir, machine, target_host.as_deref(), upload_dir, ssh) {
            Ok(()) => exit::OK,
            Err((code, message)) => {
                eprintln!("error: {message}");
                code
            }
        },
        VarsCommand::Get { machine, var, dir } => match get(machine, var, dir) {
            Ok(bytes) => {
                let mut out = std::io::stdout().lock();
                // A closed pipe is the reader's choice; the status still says it worked.
                let _ = out.write_all(&bytes).and_then(|()| out.flush());
                exit::OK
            }
            Err((code, message)) => {
                eprintln!("error: {message}");
                code
            }
        },
    }
}

fn get(machine: &str, var: &str, dir: &std::path::Path) -> Result<Vec<u8>, (u8, String)> {
    let Some((generator, file)) = var.split_once('/') else {
        return Err((exit::USAGE, format!("`{var}` is not GENERATOR/FILE")));
    };
    for (what, name) in [
        ("machine", machine),
        ("generator", generator),
        ("file", file),
    ] {
        crate::model::vars::names::component(what, name)
            .map_err(|e| (exit::USAGE, e.to_string()))?;
    }
    if !dir.is_dir() {
        return Err((
            exit::USAGE,
            format!("`{}` is not a directory", dir.display()),
        ));
    }
    let tree = VarsTree::read(dir).map_err(|e| (exit::USAGE, format!("cannot read vars/: {e}")))?;
    let stored = tree.find(machine, generator, file).ok_or_else(|| {
        (
            exit::FOUND_ERRORS,
            format!("machine `{machine}` has no var `{generator}/{file}` under vars/ (run `clanc vars generate`?)"),
        )
    })?;
    let read = |path: PathBuf| {
        std::fs::read(&path).map_err(|e| {
            (
                exit::USAGE,
                format!("cannot read `{}`: {e}", path.display()),
            )
        })
    };
    match &stored.kind {
        StoredKind::Public => read(stored.dir.join("value")),
        StoredKind::Empty => Err((
            exit::FOUND_ERRORS,
            format!(
                "`{}` holds neither a value nor a secret",
                stored.dir.display()
            ),
        )),
        StoredKind::Secret(_) => {
            let text = read(stored.dir.join("secret"))?;
            let text = String::from_utf8(text).map_err(|_| {
                (
                    exit::FOUND_ERRORS,
                    "the secret file is not a sops file".to_string(),
                )
            })?;
            let identities = admin_identities()?;
            let plain = sops::decrypt(&text, &identities).map_err(|e| {
                (
                    exit::FOUND_ERRORS,
                    format!("cannot decrypt `{generator}/{file}` of `{machine}`: {e}"),
                )
            })?;
            Ok(plain.to_vec())
        }
    }
}

pub(super) fn admin_identities() -> Result<Vec<age::x25519::Identity>, (u8, String)> {
    let no_key = || {
        (
            exit::USAGE,
            "no admin age key: set SOPS_AGE_KEY or SOPS_AGE_KEY_FILE, or put it in ~/.config/sops/age/keys.txt"
                .to_string(),
        )
    };
    let source = keys::admin_key_source(|name| std::env::var(name).ok()).ok_or_else(no_key)?;
    let text = match source {
        AdminKeySource::Inline(text) => text,
        AdminKeySource::File(path) => std::fs::read_to_string(&path).map_err(|e| {
            (
                exit::USAGE,
                format!("cannot read the admin age key `{}`: {e}", path.display()),
            )
        })?,
    };
    keys::parse_identities(&text).map_err(|e| (exit::USAGE, format!("admin age key: {e}")))
}

/// Loads the clan at `dir` and builds its model; the model's errors stop here (a clan that
/// does not evaluate cannot say which generators it has).
pub(super) fn load_model(dir: &Path) -> Result<(PathBuf, Clan), (u8, String)> {
    let lowered_before = crate::cache::lowered_files_kept_for(dir, None);
    let host = AnalysisHost::load_lowering_from(dir, lowered_before)
        .map_err(|e| (exit::USAGE, e.to_string()))?;
    let root = host.root().to_path_buf();
    let clan = host.model();
    if let Some(d) = clan
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        return Err((
            exit::FOUND_ERRORS,
            format!(
                "the clan does not evaluate ({} at {}: {}); run `clanc check` and fix it first",
                d.code, d.span.file, d.message
            ),
        ));
    }
    Ok((root, clan))
}

/// `GEN/NAME=REST` split into `("GEN/NAME", "REST")`.
fn prompt_flag(flag: &str, what: &str) -> Result<(String, String), (u8, String)> {
    match flag.split_once('=') {
        Some((key, rest)) if key.contains('/') => Ok((key.to_string(), rest.to_string())),
        _ => Err((
            exit::USAGE,
            format!(
                "`--{what}` takes GENERATOR/PROMPT={}, e.g. `--{what} wifi/password=...`; got a value without `GENERATOR/PROMPT=`",
                if what == "prompt" { "VALUE" } else { "PATH" }
            ),
        )),
    }
}

pub(super) fn run_generate(
    dir: &Path,
    request: &Request,
    prompt_flags: &[String],
    prompt_file_flags: &[String],
    commit: bool,
) -> Result<(), (u8, String)> {
    let mut given: BTreeMap<String, Zeroizing<String>> = BTreeMap::new();
    for flag in prompt_flags {
        let (key, value) = prompt_flag(flag, "prompt")?;
        given.insert(key, Zeroizing::new(value));
    }
    for flag in prompt_file_flags {
        let (key, path) = prompt_flag(flag, "prompt-file")?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            (
                exit::USAGE,
                format!("cannot read the answer to `{key}` from `{path}`: {e}"),
            )
        })?;
        given.insert(key, Zeroizing::new(text));
    }
    let (root, clan) = load_model(dir)?;
    let interactive = std::io::stdin().is_terminal();
    let mut prompt = |generator: &str, name: &str, spec: &PromptSpec| {
        let key = format!("{generator}/{name}");
        if let Some(value) = given.get(&key) {
            return Ok(value.clone());
        }
        if !interactive {
            return Err(format!(
                "the prompt `{key}` ({}) needs an answer and there is no terminal to ask on: pass `--prompt {key}=VALUE` or `--prompt-file {key}=PATH`",
                spec.description
            ));
        }
        let multiline = matches!(
            spec.kind,
            PromptKind::Multiline | PromptKind::MultilineHidden
        );
        terminal::ask(
            &format!("{} [{key}]", spec.description),
            spec.kind.is_hidden(),
            multiline,
        )
        .map_err(|e| format!("cannot read the answer to `{key}`: {e}"))
    };
    let mut identities = || admin_identities().map_err(|(_, message)| message);
    let mut note = |line: &str| eprintln!("{line}");
    let flake = root.clone();
    let mut final_script = |machine: &str, class, generator: &str| {
        eprintln!("building the script of generator `{generator}` of `{machine}` with nix");
        crate::exec::final_script::build_final_script(&flake, class, machine, generator)
    };
    terminal::catch_interrupts();
    let mut env = Environment {
        sandbox: Sandbox::detect(),
        path: std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        cancel: &terminal::INTERRUPTED,
        prompt: &mut prompt,
        admin_identities: &mut identities,
        note: &mut note,
        final_script: &mut final_script,
        now: sops::rfc3339_utc(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        ),
    };
    let result = generate::generate(&root, &clan, request, &mut env);
    // A caught signal ends the generation wherever it was (a prompt, the lock, a script):
    // whatever the error says, nothing was written and the temporary files are gone.
    if let Some(signal) = terminal::caught_signal()
        && result.is_err()
    {
        return Err((
            terminal::exit_status(signal),
            format!(
                "interrupted; nothing was written ({})",
                terminal::signal_name(signal)
            ),
        ));
    }
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(
            GenerateError::Cancelled
            | GenerateError::Run {
                error: crate::exec::vars_generator::RunError::Cancelled,
                ..
            },
        ) => {
            return Err((INTERRUPTED, "interrupted; nothing was written".to_string()));
        }
        Err(e @ GenerateError::Io(_)) => return Err((exit::USAGE, e.to_string())),
        Err(e) => return Err((exit::FOUND_ERRORS, e.to_string())),
    };
    if outcome.generated.is_empty() {
        eprintln!("nothing to generate: every vars file exists (use --regenerate to run again)");
        return Ok(());
    }
    for m in &outcome.new_machine_keys {
        eprintln!("created an age key for `{m}` (sops/machines/{m}/key.json)");
    }
    for g in &outcome.generated {
        let place = if g.shared {
            format!("vars/shared/{}", g.generator)
        } else {
            format!("vars/per-machine/{}/{}", g.machine, g.generator)
        };
        eprintln!("wrote {} file(s) to {place}/", g.files.len());
    }
    if commit {
        git_commit(&root, &outcome)?;
    }
    Ok(())
}

/// Commits what a generation wrote, with a message like clan's.
fn git_commit(root: &Path, outcome: &generate::Outcome) -> Result<(), (u8, String)> {
    let message = match outcome.generated.as_slice() {
        [g] => format!(
            "Update vars via generator {} for machine {}",
            g.generator, g.machine
        ),
        many => {
            let mut text = "Update vars via clanc vars generate\n".to_string();
            for g in many {
                text.push_str(&format!(
                    "\n- generator {} for machine {}",
                    g.generator, g.machine
                ));
            }
            text
        }
    };
    let paths: Vec<PathBuf> = outcome.paths.iter().cloned().collect();
    crate::exec::git::commit(root, &paths, &message).map_err(|e| (exit::USAGE, e))?;
    eprintln!("committed: {}", message.lines().next().unwrap_or_default());
    Ok(())
}

/// The machine `name` of the clan, or an error naming the machines it has.
fn find_machine<'a>(clan: &'a Clan, name: &str) -> Result<&'a crate::model::Machine, (u8, String)> {
    clan.machines.get(name).ok_or_else(|| {
        (
            exit::FOUND_ERRORS,
            format!(
                "the clan has no machine `{name}`; it has {}",
                clan.machines
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// Where `--target-host` or the machine's `deploy.targetHost` says to go.
pub(super) fn target_of(
    machine: &crate::model::Machine,
    flag: Option<&str>,
) -> Result<crate::model::deploy_target::DeployTarget, (u8, String)> {
    let text = match (flag, machine.target_host.as_ref().map(|t| &t.value)) {
        (Some(text), _) => text.to_string(),
        (None, Some(Known::Known(text))) => text.clone(),
        (None, Some(Known::Unknown(why))) => {
            return Err((
                exit::USAGE,
                format!(
                    "the deploy.targetHost of `{}` is unknown ({why}): pass --target-host",
                    machine.name
                ),
            ));
        }
        (None, None) => {
            return Err((
                exit::USAGE,
                format!(
                    "`{}` has no deploy.targetHost: pass --target-host",
                    machine.name
                ),
            ));
        }
    };
    crate::model::deploy_target::parse_deploy_target(&text)
        .map_err(|e| (exit::USAGE, format!("target host `{text}`: {e}")))
}

/// The files `upload-secrets` sends for `machine`, decrypted in memory with the admin key;
/// empty when the machine has no age key (`sops/secrets/<m>-age.key`).
pub(super) fn files_to_upload(
    root: &Path,
    machine: &crate::model::Machine,
) -> Result<Vec<crate::vars::upload::UploadFile>, (u8, String)> {
    let key = crate::vars::store::key_secret_dir(root, &machine.name)
        .map_err(|e| (exit::FOUND_ERRORS, e.to_string()))?
        .join("secret");
    if !key.exists() {
        return Ok(Vec::new());
    }
    let tree =
        VarsTree::read(root).map_err(|e| (exit::USAGE, format!("cannot read vars/: {e}")))?;
    let identities = admin_identities()?;
    crate::vars::upload::upload_files(root, &tree, machine, &identities)
        .map_err(|e| (exit::FOUND_ERRORS, e))
}

/// `clanc vars upload`: the machine's age key and activation secrets into `upload_dir` on
/// the target.
fn upload(
    dir: &Path,
    machine: &str,
    target_host: Option<&str>,
    upload_dir: &str,
    ssh: &SshFlags,
) -> Result<(), (u8, String)> {
    crate::exec::check_upload_dir(upload_dir).map_err(|e| (exit::USAGE, e))?;
    let (root, clan) = load_model(dir)?;
    let m = find_machine(&clan, machine)?;
    let target = target_of(m, target_host)?;
    let files = files_to_upload(&root, m)?;
    if files.is_empty() {
        eprintln!("nothing to upload: `{machine}` has no age key (sops/secrets/{machine}-age.key)");
        return Ok(());
    }
    let archive = crate::vars::archive::archive(&files).map_err(|e| (exit::USAGE, e))?;
    crate::exec::upload_archive(&target, &ssh.options(), upload_dir, &archive)
        .map_err(|e| (exit::FOUND_ERRORS, e))?;
    eprintln!(
        "uploaded {} file(s) of `{machine}` to {target}:{upload_dir}",
        files.len()
    );
    Ok(())
}

/// `gen/file: value` for every file the machine's generators declare.
/// The machine's vars as lines, and why the list may lack generators (on stderr, so the
/// lines stay the list).
fn list(machine: &str, dir: &Path) -> Result<(String, Vec<String>), (u8, String)> {
    let (root, clan) = load_model(dir)?;
    let Some(m) = clan.machines.get(machine) else {
        return Err((
            exit::FOUND_ERRORS,
            format!(
                "the clan has no machine `{machine}`; it has {}",
                clan.machines
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let tree =
        VarsTree::read(&root).map_err(|e| (exit::USAGE, format!("cannot read vars/: {e}")))?;
    let mut out = String::new();
    for (name, generator) in &m.generators {
        for file in generator.files.keys() {
            let stored = match generator.share {
                Known::Known(true) => tree.shared.get(name).and_then(|g| g.files.get(file)),
                _ => tree
                    .per_machine
                    .get(machine)
                    .and_then(|g| g.get(name))
                    .and_then(|g| g.files.get(file)),
            };
            let shown = match stored.map(|s| (&s.kind, s)) {
                Some((StoredKind::Public, s)) => std::fs::read(s.dir.join("value"))
                    .map(|v| {
                        let text = String::from_utf8_lossy(&v).into_owned();
                        text.strip_suffix('\n').unwrap_or(&text).to_string()
                    })
                    .unwrap_or_else(|_| "<unreadable>".to_string()),
                Some((StoredKind::Secret(_), _)) => "********".to_string(),
                _ => "<not set>".to_string(),
            };
            out.push_str(&format!("{name}/{file}: {shown}\n"));
        }
    }
    let mut partial = Vec::new();
    partial.extend(clan.generators_partial(m));
    if let Some(reason) = clan.clan_core_modules_unread() {
        partial.push(format!(
            "clan-core's own modules (the `state-version` generator, ...) are not read: {reason}"
        ));
    }
    let unknown_import = m.imports.iter().find_map(|i| match &i.target {
        crate::model::ImportTarget::Unknown(reason) => Some(reason.clone()),
        _ => None,
    });
    if let Some(reason) = unknown_import {
        partial.push(format!(
            "a module the machine imports is not read ({reason}): it may declare generators"
        ));
    }
    Ok((out, partial))
}
