//! From a plan step's argv to what actually runs: `{toplevel}` filled in, the run's ssh
//! options added where a local command talks ssh (`NIX_SSHOPTS` for nix, the confirm
//! step's `ssh`), `clanc` meaning this executable, and remote argvs turned into one quoted
//! line for the target's shell.

use crate::plan::diff::{NEW, RUNNING};
use crate::plan::step::{SOURCE, TOPLEVEL};

use crate::shell::command_line;

/// `{toplevel}` replaced in every word; an error when the step needs it and the machine
/// has no built system. (`{source}` stays: see [`fill`].)
pub fn fill_toplevel(argv: &[String], toplevel: Option<&str>) -> Result<Vec<String>, String> {
    fill_one(argv, TOPLEVEL, toplevel, "no build step produced it")
}

/// `{toplevel}` and `{source}` replaced in every word; an error when the step needs one the
/// machine does not have (no build, no upload-sources step before).
pub fn fill(
    argv: &[String],
    toplevel: Option<&str>,
    source: Option<&str>,
) -> Result<Vec<String>, String> {
    let argv = fill_toplevel(argv, toplevel)?;
    fill_one(&argv, SOURCE, source, "no upload-sources step produced it")
}

/// A diff step's `{running}` and `{new}` replaced by the systems its first commands read.
pub fn fill_systems(argv: &[String], running: &str, new: &str) -> Result<Vec<String>, String> {
    let argv = fill_one(argv, RUNNING, Some(running), "")?;
    fill_one(&argv, NEW, Some(new), "")
}

fn fill_one(
    argv: &[String],
    placeholder: &str,
    value: Option<&str>,
    missing: &str,
) -> Result<Vec<String>, String> {
    argv.iter()
        .map(|word| {
            if !word.contains(placeholder) {
                return Ok(word.clone());
            }
            match value {
                Some(path) => Ok(word.replace(placeholder, path)),
                None => Err(format!("the command needs {placeholder}, but {missing}")),
            }
        })
        .collect()
}

/// A local argv with the run's ssh options: an explicit `env NIX_SSHOPTS=...` gets them in
/// front of its own (the caller also sets `NIX_SSHOPTS` for every local command); `ssh` gets
/// them after its name; `clanc` becomes `exe`, and `clanc vars upload` gets them as its
/// `--ssh-option KEY=VALUE` and `-i FILE` flags.
pub fn local_argv(argv: Vec<String>, ssh_args: &[String], exe: &str) -> Vec<String> {
    let mut argv = argv;
    match argv.first().map(String::as_str) {
        Some("env") => argv = local_argv_env_only(argv, ssh_args),
        Some("ssh") => {
            argv.splice(1..1, ssh_args.iter().cloned());
        }
        Some("clanc") => {
            argv[0] = exe.to_string();
            if argv.get(1..3).is_some_and(|w| w == ["vars", "upload"]) {
                argv.extend(clanc_ssh_flags(ssh_args));
            }
        }
        _ => {}
    }
    argv
}

/// ssh's `-o KEY=VALUE` and `-i FILE` as clanc's `--ssh-option KEY=VALUE` and `-i FILE`.
fn clanc_ssh_flags(ssh_args: &[String]) -> Vec<String> {
    let mut flags = Vec::new();
    let mut words = ssh_args.iter();
    while let Some(word) = words.next() {
        let flag = match word.as_str() {
            "-o" => "--ssh-option",
            "-i" => "-i",
            _ => continue,
        };
        if let Some(value) = words.next() {
            flags.push(flag.to_string());
            flags.push(value.clone());
        }
    }
    flags
}

/// The run's `-o KEY=VALUE` options in front of a remote `env NIX_SSHOPTS=...`: a nix
/// command on a build host that talks ssh to the target (the copy step) uses the same host
/// key policy and options as the run. `-i FILE` stays here: it names a local file (the build
/// host authenticates with its own keys or a forwarded agent, `ForwardAgent=yes`).
pub fn remote_argv(argv: Vec<String>, ssh_args: &[String]) -> Vec<String> {
    let options: Vec<String> = ssh_args
        .chunks(2)
        .filter(|pair| pair[0] == "-o" && pair.len() == 2)
        .flat_map(|pair| pair.iter().cloned())
        .collect();
    local_argv_env_only(argv, &options)
}

/// `env NIX_SSHOPTS=<own>` becomes `env NIX_SSHOPTS=<ssh_args> <own>`.
fn local_argv_env_only(mut argv: Vec<String>, ssh_args: &[String]) -> Vec<String> {
    if argv.first().map(String::as_str) == Some("env") && !ssh_args.is_empty() {
        let opts = ssh_args.join(" ");
        for word in argv.iter_mut().skip(1) {
            if !word.contains('=') || word.starts_with('-') {
                break;
            }
            if let Some(own) = word.strip_prefix("NIX_SSHOPTS=") {
                *word = format!("NIX_SSHOPTS={opts} {own}");
            }
        }
    }
    argv
}

/// The remote shell line for an argv (the run's ssh options added as `remote_argv` says).
/// `systemd-run ... -- CMD` (after an optional `sudo -n`) runs through systemd only where
/// the target runs it; elsewhere CMD runs directly with the `-E KEY=VALUE` environment.
pub fn remote_line(argv: &[String], ssh_args: &[String]) -> String {
    let argv = remote_argv(argv.to_vec(), ssh_args);
    let argv = argv.as_slice();
    let start = if argv.len() >= 2 && argv[0] == "sudo" && argv[1] == "-n" {
        2
    } else {
        0
    };
    let full = command_line(argv);
    if argv.get(start).map(String::as_str) != Some("systemd-run") {
        return full;
    }
    let Some(dashes) = argv[start..].iter().position(|w| w == "--") else {
        return full;
    };
    let mut direct: Vec<String> = argv[..start].to_vec();
    let options = &argv[start + 1..start + dashes];
    let env: Vec<String> = options
        .windows(2)
        .filter(|pair| pair[0] == "-E" && pair[1].contains('='))
        .map(|pair| pair[1].clone())
        .collect();
    if !env.is_empty() {
        direct.push("env".to_string());
        direct.extend(env);
    }
    direct.extend(argv[start + dashes + 1..].iter().cloned());
    format!(
        "if [ -d /run/systemd/system ]; then {full}; else {}; fi",
        command_line(&direct)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn toplevel_is_filled_or_missing() {
        let argv = words("x {toplevel}/bin/switch-to-configuration");
        assert_eq!(
            fill_toplevel(&argv, Some("/nix/store/a-b")).unwrap()[1],
            "/nix/store/a-b/bin/switch-to-configuration"
        );
        assert!(fill_toplevel(&argv, None).is_err());
        assert_eq!(fill_toplevel(&words("a b"), None).unwrap(), words("a b"));
    }

    #[test]
    fn local_commands_get_the_ssh_options() {
        let ssh = words("-o BatchMode=yes -i /k");
        assert_eq!(
            local_argv(words("env NIX_SSHOPTS=-p nix copy"), &ssh, "/c")[1],
            "NIX_SSHOPTS=-o BatchMode=yes -i /k -p"
        );
        assert_eq!(
            local_argv(words("ssh -o ControlPath=none root@h true"), &ssh, "/c"),
            words("ssh -o BatchMode=yes -i /k -o ControlPath=none root@h true")
        );
        assert_eq!(
            local_argv(words("clanc vars generate"), &ssh, "/bin/clanc"),
            words("/bin/clanc vars generate")
        );
        assert_eq!(
            local_argv(
                words("clanc vars upload /c --machine m"),
                &ssh,
                "/bin/clanc"
            ),
            words("/bin/clanc vars upload /c --machine m --ssh-option BatchMode=yes -i /k")
        );
    }

    #[test]
    fn systemd_run_falls_back_to_running_directly() {
        let argv = words(
            "sudo -n systemd-run --pipe --unit=u -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER=0 -- /s/bin/switch-to-configuration switch",
        );
        assert_eq!(
            remote_line(&argv, &[]),
            "if [ -d /run/systemd/system ]; then sudo -n systemd-run --pipe '--unit=u' -E \
             LOCALE_ARCHIVE -E 'NIXOS_INSTALL_BOOTLOADER=0' -- /s/bin/switch-to-configuration \
             switch; else sudo -n env 'NIXOS_INSTALL_BOOTLOADER=0' \
             /s/bin/switch-to-configuration switch; fi"
        );
        assert_eq!(remote_line(&words("nix-env -p /p"), &[]), "nix-env -p /p");
    }

    #[test]
    fn a_copy_on_the_build_host_gets_the_options_but_not_the_identity() {
        let ssh = words("-o BatchMode=yes -o ForwardAgent=yes -i /k");
        assert_eq!(
            remote_line(&words("env NIX_SSHOPTS=-p nix copy"), &ssh),
            "env 'NIX_SSHOPTS=-o BatchMode=yes -o ForwardAgent=yes -p' nix copy"
        );
        assert_eq!(
            remote_line(&words("nix-env --set x"), &ssh),
            "nix-env --set x"
        );
    }
}
