{
  description = "kiosk: tags listed in `inventory.tags`, a tag both listed and a machine's own";

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
        meta.name = "kiosk";

        inventory = {
          machines = {
            # `shop` twice: its own tag, and listed in `inventory.tags.shop`
            till.tags = [ "shop" ];
            screen = { };
            mac.machineClass = "darwin";
          };

          tags = {
            shop = [
              "screen"
              "till"
            ];
            backoffice = [ "till" ];
          };

          instances = {
            sshd = {
              roles.server.tags.shop = { };
              roles.client.machines.screen = { };
              roles.client.tags = [ "backoffice" ];
            };
            emergency-access.roles.default.tags.darwin = { };
          };
        };
      };
    in
    {
      inherit (clan.config) nixosConfigurations darwinConfigurations clanInternals;
    };
}
