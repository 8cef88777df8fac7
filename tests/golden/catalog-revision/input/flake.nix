{
  description = "grove: NixOS servers and a Mac for the Okafor household";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
    clan-core.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs =
    {
      self,
      clan-core,
      nixpkgs,
      ...
    }:
    let
      clan = clan-core.lib.clan {
        self = self;
        meta.name = "grove";
        meta.description = "Okafor household";

        inventory = {
          machines = {
            ash = {
              tags = [ "server" ];
              deploy.targetHost = "root@ash.example.org";
            };
            elm = {
              tags = [
                "server"
                "monitoring"
              ];
              deploy.targetHost = "root@elm.example.org:2222";
            };
            willow = {
              machineClass = "darwin";
              deploy.targetHost = "chidi@willow.local";
            };
          };

          instances = {
            admin = {
              module = {
                name = "admin";
                input = "clan-core";
              };
              roles.default.tags.server = { };
              roles.default.settings.allowedKeys = {
                chidi = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHs1m9dX0vBq8kq2mWcJ3XrZ7tY0pLQe4uN6aV5sKc1R chidi@willow";
              };
            };

            emergency-access = {
              roles.default.tags.nixos = { };
            };

            monitoring = {
              roles.server.tags.monitoring = { };
              roles.server.settings.grafana.enable = true;
              roles.client.tags.server = { };
              roles.client.settings = {
                useSSL = false;
                monitoredSystemdServices = [
                  "nginx"
                  "postgresql"
                ];
              };
            };
          };
        };

        machines = {
          ash = {
            imports = [ ./hosts/ash.nix ];
            nixpkgs.hostPlatform = "x86_64-linux";
          };
          elm = {
            imports = [ ./hosts/elm.nix ];
            nixpkgs.hostPlatform = "x86_64-linux";
          };
          willow = {
            nixpkgs.hostPlatform = "aarch64-darwin";
            system.stateVersion = 6;
            system.primaryUser = "chidi";
          };
        };
      };
    in
    {
      inherit (clan.config) nixosConfigurations darwinConfigurations clanInternals;

      devShells.x86_64-linux.default = nixpkgs.legacyPackages.x86_64-linux.mkShell {
        packages = [ clan-core.packages.x86_64-linux.clan-cli ];
      };
    };
}
