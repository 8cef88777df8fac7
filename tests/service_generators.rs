//! The vars generators machines get from their services and from clan-core's own modules
//! (`model/service_generators.rs`): a toy clan-core source is added to the real Nix store
//! (`nix-store --add`, as any nix command fetching the locked input leaves it), the clan's
//! `flake.lock` locks it by its `narHash`, and `clanc vars list` / `clanc check` must show
//! what clan-core would give each machine; without the source, the list says it is partial.

use std::path::Path;
use std::process::{Command, Output};

/// A clan.service of the toy clan-core: one generator per instance, named and shared by
/// settings, and a per-machine generator from `perMachine`.
const TOY_SERVICE: &str = r#"
{ lib, ... }:
{
  _class = "clan.service";
  manifest.name = "clan-core/toy";
  roles.default = {
    interface = { lib, ... }: {
      options.user = lib.mkOption { type = lib.types.str; };
      options.share = lib.mkOption { type = lib.types.bool; default = false; };
    };
    perInstance = { instanceName, settings, machine, roles, ... }: {
      nixosModule = { config, pkgs, ... }: {
        clan.core.vars.generators."toy-${settings.user}" = {
          share = settings.share;
          files.secret-file = { };
          files.public-file.secret = false;
          runtimeInputs = [ pkgs.coreutils ];
          script = "echo ${instanceName} ${toString (builtins.length (builtins.attrNames roles.default.machines))} ${machine.name}";
        };
      };
    };
  };
  perMachine = { machine, ... }: {
    nixosModule = {
      clan.core.vars.generators."toy-host-${machine.name}".files.key = { };
    };
  };
}
"#;

/// clan-core's own module for every machine: one generator, and a `vars` module clanc leaves
/// out (it declares the vars interface clanc models itself).
const TOY_CLAN_CORE_MODULE: &str = r#"
{ _class, lib, ... }:
{
  imports = [ ./base.nix ./vars ];
}
"#;

const TOY_BASE: &str = r#"
{ config, lib, ... }:
{
  options.clan.core.settings.base.enable = lib.mkOption { type = lib.types.bool; default = true; };
  config = lib.mkIf config.clan.core.settings.base.enable {
    clan.core.vars.generators.base-version.files.version.secret = false;
  };
}
"#;

const FLAKE: &str = r#"
{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs = { self, clan-core, ... }:
    let
      clan = clan-core.lib.clan {
        inherit self;
        meta.name = "toy";
        inventory.machines.alpha = { };
        inventory.machines.beta = { };
        inventory.instances.people = {
          module.name = "toy";
          module.input = "clan-core";
          roles.default.machines.alpha.settings.user = "ada";
          roles.default.machines.beta.settings.user = "bob";
        };
        inventory.instances.mine = {
          module.name = "mine";
          module.input = "self";
          roles.server.machines.alpha = { };
        };
        modules.mine = {
          _class = "clan.service";
          manifest.name = "mine";
          roles.server.perInstance = { instanceName, ... }: {
            nixosModule.clan.core.vars.generators."mine-${instanceName}".files.token = { };
          };
        };
      };
    in
    { inherit (clan.config) nixosConfigurations clanInternals; };
}
"#;

fn nix_config() -> &'static str {
    "substituters =\nsandbox = false\nbuild-users-group =\nexperimental-features = nix-command flakes"
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.env("NIX_CONFIG", nix_config()).output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Adds a toy clan-core (unique per call: `tag` goes into a file) to the Nix store; returns
/// its store path and NAR hash (SRI), as `flake.lock` records them.
fn toy_clan_core(dir: &Path, tag: &str) -> (String, String) {
    let source = dir.join("source");
    write(&source.join("clanServices/toy/default.nix"), TOY_SERVICE);
    write(
        &source.join("nixosModules/clanCore/default.nix"),
        TOY_CLAN_CORE_MODULE,
    );
    write(&source.join("nixosModules/clanCore/base.nix"), TOY_BASE);
    write(
        &source.join("nixosModules/clanCore/vars/default.nix"),
        "{ lib, ... }: { options.clan.core.vars = lib.mkOption { type = lib.types.raw; }; }",
    );
    write(&source.join("TAG"), tag);
    let hash = run(Command::new("nix")
        .args(["hash", "path", "--type", "sha256", "--sri"])
        .arg(&source));
    let hash = String::from_utf8(hash.stdout).unwrap().trim().to_string();
    let added = run(Command::new("nix-store").arg("--add").arg(&source));
    let path = String::from_utf8(added.stdout).unwrap().trim().to_string();
    (path, hash)
}

fn clan(dir: &Path, nar_hash: &str) -> std::path::PathBuf {
    let root = dir.join("clan");
    write(&root.join("flake.nix"), FLAKE);
    let lock = format!(
        r#"{{
  "nodes": {{
    "clan-core": {{
      "locked": {{ "narHash": "{nar_hash}", "rev": "0123456789abcdef0123456789abcdef01234567", "lastModified": 1780000000, "type": "tarball", "url": "https://git.clan.lol/api/v1/repos/clan/clan-core/archive/0123456789abcdef0123456789abcdef01234567.tar.gz" }},
      "original": {{ "type": "tarball", "url": "https://git.clan.lol/clan/clan-core/archive/main.tar.gz" }}
    }},
    "root": {{ "inputs": {{ "clan-core": "clan-core" }} }}
  }},
  "root": "root",
  "version": 7
}}
"#
    );
    write(&root.join("flake.lock"), &lock);
    root
}

fn clanc(args: &[&str], root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(args)
        .arg(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn listed(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(':').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn machines_get_the_generators_of_their_services_and_of_clan_core() {
    let dir = tempfile::tempdir().unwrap();
    let unique = format!("{:?}", std::time::SystemTime::now());
    let (store_path, nar_hash) = toy_clan_core(dir.path(), &unique);
    let root = clan(dir.path(), &nar_hash);

    let alpha = clanc(&["vars", "list", "alpha"], &root);
    assert_eq!(alpha.status.code(), Some(0), "{alpha:?}");
    assert_eq!(
        listed(&alpha),
        [
            "base-version/version",
            "mine-mine/token",
            "toy-ada/public-file",
            "toy-ada/secret-file",
            "toy-host-alpha/key",
        ],
        "{}",
        String::from_utf8_lossy(&alpha.stderr)
    );
    assert!(
        alpha.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&alpha.stderr)
    );
    let beta = clanc(&["vars", "list", "beta"], &root);
    assert_eq!(
        listed(&beta),
        [
            "base-version/version",
            "toy-bob/public-file",
            "toy-bob/secret-file",
            "toy-host-beta/key",
        ]
    );

    // None of them has run: one V003 per machine for clan-core's, at the machine.
    let check = clanc(&["check", "--no-cache", "--format", "json"], &root);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let v003: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "V003")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        v003.iter()
            .any(|m| m.contains("`toy-ada`") && m.contains("`base-version`")),
        "{v003:#?}"
    );
    assert!(
        v003.iter()
            .any(|m| m.contains("`toy-bob`") && m.contains("vars/per-machine/beta/toy-bob/")),
        "{v003:#?}"
    );
    let errors = report["summary"]["errors"].as_u64();
    assert_eq!(errors, Some(0), "{report:#}");

    // The same clan with a clan-core the store does not have: the flake's own service is still
    // read, clan-core's are not, and the list says so.
    std::fs::remove_file(root.join("flake.lock")).unwrap();
    let other = clan(
        dir.path(),
        "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    let alpha = clanc(&["vars", "list", "alpha"], &other);
    assert_eq!(listed(&alpha), ["mine-mine/token"]);
    let notes = String::from_utf8_lossy(&alpha.stderr);
    assert!(
        notes.contains("partial") && notes.contains("clan-core's service `toy` is not read"),
        "{notes}"
    );
    assert!(notes.contains("not in the Nix store"), "{notes}");
    drop(store_path);
}
