{
  description = "ferry: instances and roles from an input clanc does not model";

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
      inherit (nixpkgs) lib;
      clan = clan-core.lib.clan {
        self = self;
        meta.name = "ferry";

        inventory = {
          machines.deck.tags = [ "crew" ];

          instances = lib.mkMerge [
            # more instances, unknown to clanc: any may have a role for deck
            lib.fleetInstances
            {
              sshd.roles.server.tags.crew = { };
              # more roles of this instance, unknown too
              emergency-access.roles = lib.mkMerge [
                lib.moreRoles
                { default.tags.nixos = { }; }
              ];
            }
          ];
        };
      };
    in
    {
      inherit (clan.config) nixosConfigurations darwinConfigurations clanInternals;
    };
}
