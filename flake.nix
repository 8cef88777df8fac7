{
  description = "clanc: a compiler for clan inventories (check, plan and deploy NixOS/nix-darwin fleets)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
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
