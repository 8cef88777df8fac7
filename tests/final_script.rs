//! A vars generator whose runtime inputs are packages: clanc cannot run its script as the
//! model holds it, so `clanc vars generate` builds the generator's `finalScript` with the real
//! `nix` from the flake and runs that, as clan does. The flake locks a toy clan-core (a local
//! path input) whose `lib.clan` makes `finalScript` the way clan-core does (the script with
//! `PATH` set to its runtime inputs); the package is a toy derivation of the clan's flake.

use std::path::Path;
use std::process::{Command, Output};

const TOY_CLAN_CORE: &str = r#"
{
  outputs = { self }: {
    lib.clan = args: {
      config.nixosConfigurations = builtins.mapAttrs (machine: module:
        let
          config = module { pkgs = { }; };
          final = name: generator: derivation {
            name = "generator-${name}";
            system = "x86_64-linux";
            builder = "/bin/sh";
            text = ''
              #!/bin/sh
              set -eu
              export PATH=${builtins.concatStringsSep ":" (map (p: "${p}/bin") generator.runtimeInputs)}:/usr/bin:/bin
              ${generator.script}
            '';
            args = [ "-c" "printf '%s' \"$text\" > $out; /bin/chmod +x $out" ];
          };
        in {
          config.clan.core.vars.generators = builtins.mapAttrs
            (name: generator: generator // { finalScript = final name generator; })
            config.clan.core.vars.generators;
        }) args.machines;
    };
  };
}
"#;

const CLAN: &str = r#"
{
  inputs.clan-core.url = "path:@TOY@";
  outputs = { self, clan-core }:
    let
      greeter = derivation {
        name = "greeter";
        system = "x86_64-linux";
        builder = "/bin/sh";
        args = [ "-c" "/bin/mkdir -p $out/bin; printf '#!/bin/sh\\necho hello from a package\\n' > $out/bin/greet; /bin/chmod +x $out/bin/greet" ];
      };
      clan = clan-core.lib.clan {
        inherit self;
        meta.name = "toy";
        machines.m = { pkgs, ... }: {
          clan.core.vars.generators.greeting = {
            files.text.secret = false;
            runtimeInputs = [ greeter ];
            script = ''greet > "$out"/text'';
          };
        };
      };
    in
    {
      inherit (clan.config) nixosConfigurations;
      packages.x86_64-linux.greeter = greeter;
    };
}
"#;

fn nix_config() -> &'static str {
    "substituters =\nsandbox = false\nbuild-users-group =\nexperimental-features = nix-command flakes"
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn a_generator_needing_a_package_runs_the_script_nix_builds() {
    let dir = tempfile::tempdir().unwrap();
    let toy = dir.path().join("clan-core");
    write(&toy.join("flake.nix"), TOY_CLAN_CORE);
    let clan = dir.path().join("clan");
    write(
        &clan.join("flake.nix"),
        &CLAN.replace("@TOY@", &toy.display().to_string()),
    );
    let lock = Command::new("nix")
        .args(["flake", "lock"])
        .current_dir(&clan)
        .env("NIX_CONFIG", nix_config())
        .output()
        .unwrap();
    assert!(lock.status.success(), "{}", text(&lock));

    // The model cannot run it as it is (its runtime inputs are a package).
    let list = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["vars", "list", "m"])
        .arg(&clan)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "greeting/text: <not set>\n"
    );

    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["vars", "generate", "--machine", "m"])
        .arg(&clan)
        .env("NIX_CONFIG", nix_config())
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("building the script of generator `greeting`"),
        "{log}"
    );
    let value =
        std::fs::read_to_string(clan.join("vars/per-machine/m/greeting/text/value")).unwrap();
    assert_eq!(value, "hello from a package\n");
    // Nothing of the run is left in the temporary directory.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
