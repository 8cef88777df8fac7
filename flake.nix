{
  description = "clanc: a compiler for clan inventories (check, plan and deploy NixOS/nix-darwin fleets)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      clancPackages = self.packages;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        clanc = pkgs.rustPlatform.buildRustPackage {
          pname = "clanc";
          version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version;
          src = pkgs.lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          # The test suite needs nix, sshd and age on the build machine; run it with scripts/test.
          doCheck = false;
          meta = {
            description = "Static checker, planner and deployer for clan inventories";
            mainProgram = "clanc";
            license = with pkgs.lib.licenses; [ mit asl20 ];
          };
        };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.clanc;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.clanc}/bin/clanc";
        };
      });

      # A git-hooks.nix (cachix/git-hooks.nix) hook: `hooks.clanc = clanc.gitHooks.${system}.clanc;`
      gitHooks = forAllSystems (pkgs: {
        clanc = {
          enable = true;
          name = "clanc check";
          entry = "${self.packages.${pkgs.stdenv.hostPlatform.system}.clanc}/bin/clanc check";
          files = "\\.nix$|^vars/|^sops/|inventory\\.json$|flake\\.lock$";
          pass_filenames = false;
          language = "system";
        };
      });

      # A flake-parts module for a clan's flake: `imports = [ inputs.clanc.flakeModules.default ];`
      # adds `checks.<system>.clanc`, which runs `clanc check` on the flake's source.
      flakeModules.default =
        { self, ... }:
        let
          userFlake = self;
        in
        {
          perSystem =
            { pkgs, system, ... }:
            {
              checks.clanc =
                pkgs.runCommand "clanc-check"
                  { nativeBuildInputs = [ clancPackages.${system}.clanc ]; }
                  ''
                    # a build's HOME is not writable and no later build could reuse an entry
                    clanc check --no-cache --color never ${userFlake}
                    touch $out
                  '';
            };
        };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.clanc ];
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            cargo-nextest
            nix
            openssh
            age
          ];
        };
      });
    };
}
