{
  description = "a small clean clan";
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs = { self, clan-core, ... }:
    let
      clan = clan-core.lib.clan {
        inherit self;
        meta.name = "tiny";
        inventory.machines.alpha.tags = [ "web" ];
      };
    in
    { inherit (clan.config) nixosConfigurations clanInternals; };
}
