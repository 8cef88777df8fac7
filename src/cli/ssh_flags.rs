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

/// `KEY=VALUE` with a plain alphanumeric key, and no control character anywhere (a newline
/// would start another line of the ssh_config the option is written to).
pub fn parse_ssh_option(text: &str) -> Result<(String, String), String> {
    if text.chars().any(char::is_control) {
        return Err("the option contains a control character (a newline?)".to_string());
    }
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Ok((key.to_string(), value.to_string()))
        }
        _ => Err("expected KEY=VALUE, like StrictHostKeyChecking=yes".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ssh_option;

    #[test]
    fn options_are_key_value_without_control_characters() {
        assert_eq!(
            parse_ssh_option("ConnectTimeout=5"),
            Ok(("ConnectTimeout".to_string(), "5".to_string()))
        );
        assert!(parse_ssh_option("ProxyCommand=x\nHost *").is_err());
        assert!(parse_ssh_option("=5").is_err());
        assert!(parse_ssh_option("Connect Timeout=5").is_err());
        assert!(parse_ssh_option("ConnectTimeout").is_err());
    }
}
