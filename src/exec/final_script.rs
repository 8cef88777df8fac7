//! Builds a vars generator's `finalScript` with Nix, for generators whose script or runtime
//! inputs are packages: clan-core makes the derivation (the script with `PATH` set to the
//! runtime inputs), `nix build` realises it, and the runner executes the store path as clan
//! does. Nix 2.8 has no `--print-out-paths`: the path is read from `--json`.

use std::path::Path;
use std::process::Command;

use crate::model::MachineClass;

/// The installable of a generator's `finalScript` in the flake at `flake`.
pub fn final_script_installable(
    flake: &Path,
    class: MachineClass,
    machine: &str,
    generator: &str,
) -> Result<String, String> {
    for name in [machine, generator] {
        if name.is_empty() || name.contains(['"', '\\', '$', '\0']) {
            return Err(format!(
                "`{name}` cannot be named in a flake attribute path"
            ));
        }
    }
    let configurations = match class {
        MachineClass::Nixos => "nixosConfigurations",
        MachineClass::Darwin => "darwinConfigurations",
    };
    Ok(format!(
        "{}#{configurations}.\"{machine}\".config.clan.core.vars.generators.\"{generator}\".finalScript",
        flake.display()
    ))
}

/// Builds the script and returns its store path.
pub fn build_final_script(
    flake: &Path,
    class: MachineClass,
    machine: &str,
    generator: &str,
) -> Result<String, String> {
    let installable = final_script_installable(flake, class, machine, generator)?;
    let output = Command::new("nix")
        .args([
            "build",
            "--extra-experimental-features",
            "nix-command flakes",
        ])
        .args(["--no-link", "--json", "--"])
        .arg(&installable)
        .output()
        .map_err(|e| format!("cannot run nix: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "`nix build {installable}` failed ({}): {}",
            output.status,
            tail.join(" / ")
        ));
    }
    out_path(&output.stdout).ok_or_else(|| {
        format!(
            "`nix build --json` printed no output path: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The `out` path of the first result of `nix build --json`.
fn out_path(json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    let path = value.get(0)?.get("outputs")?.get("out")?.as_str()?;
    path.starts_with('/').then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installables_quote_names_and_refuse_what_would_break_out() {
        let flake = Path::new("/clan");
        assert_eq!(
            final_script_installable(flake, MachineClass::Darwin, "a.b", "user-password-x")
                .unwrap(),
            "/clan#darwinConfigurations.\"a.b\".config.clan.core.vars.generators.\"user-password-x\".finalScript"
        );
        assert!(final_script_installable(flake, MachineClass::Nixos, "a\"b", "g").is_err());
        assert!(final_script_installable(flake, MachineClass::Nixos, "m", "${x}").is_err());
    }

    #[test]
    fn the_path_comes_from_the_json() {
        let json =
            br#"[{"drvPath":"/nix/store/x.drv","outputs":{"out":"/nix/store/abc-generator-g"}}]"#;
        assert_eq!(
            out_path(json).as_deref(),
            Some("/nix/store/abc-generator-g")
        );
        assert_eq!(out_path(b"[]"), None);
        assert_eq!(out_path(br#"[{"outputs":{"out":"relative"}}]"#), None);
    }
}
