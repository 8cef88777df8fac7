//! `clanc vars ...`: the clan's vars on disk. `get` prints one value, decrypting a secret with
//! the admin's age key (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, or `~/.config/sops/age/keys.txt`).

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use crate::vars::keys::{self, AdminKeySource};
use crate::vars::sops;
use crate::vars::store::{StoredKind, VarsTree};

use super::exit;

#[derive(Debug, Subcommand)]
pub enum VarsCommand {
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
}

pub fn run(command: &VarsCommand) -> u8 {
    match command {
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

fn admin_identities() -> Result<Vec<age::x25519::Identity>, (u8, String)> {
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
