//! Legacy sops-nix secrets (`sops.secrets."<name>" = { sopsFile = ...; key = ...; }` in a
//! machine's modules): the file does not exist (S001), the key is not in it (S002: sops
//! YAML/JSON/dotenv files keep their keys in plaintext), the file is not encrypted for the
//! machine's age key from `sops/machines/<m>/key.json` (S003). The secrets of a home-manager
//! user's sops-nix (`home-manager.users.<u>.sops.secrets`) get S001 and S002 only: they open
//! with the user's key file on the machine (`sops.age.keyFile`, which home-manager's sops-nix
//! has no default for), whose key the clan's files do not hold. The files' contents come in
//! as `SopsFacts` the caller read; without them these checks are silent.

use crate::diagnostics::Diagnostic;
use crate::model::vars::sops_facts::{SopsFacts, SopsFileFacts};
use crate::model::{Clan, Known};

use super::clan::first_span;
use super::suggest::did_you_mean;
use crate::diagnostics::Code;

pub(super) fn check(clan: &Clan, facts: &SopsFacts, out: &mut Vec<Diagnostic>) {
    for machine in clan.machines.values() {
        for secret in &machine.sops_secrets {
            let owner = match &secret.home_user {
                Some(user) => format!("home-manager user `{user}` on machine `{}`", machine.name),
                None => format!("machine `{}`", machine.name),
            };
            let Some(file) = &secret.sops_file else {
                continue;
            };
            let Known::Known(path) = &file.value else {
                continue;
            };
            let Some(fact) = facts.files.get(path) else {
                continue;
            };
            let Some(span) = first_span(&[
                file.span.as_ref(),
                secret.span.as_ref(),
                machine.span.as_ref(),
            ]) else {
                continue;
            };
            let (keys, recipients) = match fact {
                SopsFileFacts::Missing => {
                    out.push(
                        Diagnostic::error(
                            Code::S001,
                            format!(
                                "the sops file `{path}` of the secret `{}` ({owner}) does not exist; sops-nix fails to activate without it",
                                secret.name
                            ),
                            span,
                        )
                        .with_help(
                            "create it with `sops`, fix the path, or move the secret to clan vars",
                        ),
                    );
                    continue;
                }
                SopsFileFacts::Read { keys, recipients } => (keys, recipients),
            };
            // The keys were read as YAML when the secret's format is not known.
            if let (Some(keys), Known::Known(key), Known::Known(_)) =
                (keys, &secret.key.value, &secret.format)
                && !keys.contains(key)
            {
                let key_span =
                    first_span(&[secret.key.span.as_ref(), secret.span.as_ref(), Some(&span)]);
                if let Some(key_span) = key_span {
                    let mut help = format!(
                        "add `{key}` to `{path}` with `sops`, or set `key` to one of its keys"
                    );
                    let leaves = keys
                        .iter()
                        .filter(|k| !keys.iter().any(|o| o.starts_with(&format!("{k}/"))));
                    if let Some(suggestion) = did_you_mean(key, leaves) {
                        help = format!("{suggestion} {help}");
                    }
                    out.push(
                        Diagnostic::error(
                            Code::S002,
                            format!(
                                "the key `{key}` of the secret `{}` ({owner}) is not in `{path}`; sops-nix cannot extract it",
                                secret.name
                            ),
                            key_span,
                        )
                        .with_help(help),
                    );
                }
            }
            if secret.home_user.is_some() {
                continue;
            }
            let machine_keys = facts.machine_keys.get(&machine.name);
            if let (Some(recipients), Some(machine_keys), None) =
                (recipients, machine_keys, &machine.sops_key_elsewhere)
                && !machine_keys.is_empty()
                && !machine_keys.iter().any(|k| recipients.contains(k))
            {
                out.push(
                    Diagnostic::error(
                        Code::S003,
                        format!(
                            "`{path}` (the secret `{}`) is not encrypted for machine `{}`: none of its recipients is the machine's age key from `sops/machines/{}/key.json`",
                            secret.name, machine.name, machine.name
                        ),
                        span,
                    )
                    .with_help(format!(
                        "add the machine's key to the file's recipients (`.sops.yaml`) and run `sops updatekeys {path}`"
                    )),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
