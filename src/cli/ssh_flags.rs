//! The ssh flags the commands that reach machines share (`vars upload`, `install`,
//! `machines update`): `--ssh-option KEY=VALUE` (repeatable) and `-i/--identity FILE`, the
//! same spelling as `clanc apply`'s.

use std::path::PathBuf;

use clap::Args;

use crate::exec::SshOptions;

#[derive(Debug, Clone, Args)]
pub struct SshFlags {
    /// An ssh option for every connection (repeatable), like `StrictHostKeyChecking=yes`
    #[arg(long = "ssh-option", value_name = "KEY=VALUE", value_parser = parse_ssh_option)]
    pub ssh_option: Vec<(String, String)>,
    /// The ssh identity file
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

impl SshFlags {
    pub fn options(&self) -> SshOptions {
        SshOptions {
            options: self.ssh_option.clone(),
            identity: self.identity.clone(),
        }
    }
}

/// `KEY=VALUE` with a plain alphanumeric key.
pub fn parse_ssh_option(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Ok((key.to_string(), value.to_string()))
        }
        _ => Err("expected KEY=VALUE, like StrictHostKeyChecking=yes".to_string()),
    }
}
