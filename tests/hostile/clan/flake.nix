{
  description = "the clan every hostile case starts from: one machine, one instance";
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs =
    { self, clan-core, ... }:
    let
      clan = clan-core.lib.clan {
        inherit self;
        meta.name = "hostile";
        inventory.machines.alpha.tags = [ "web" ];
        inventory.machines.alpha.deploy.targetHost = "root@alpha.example";
      };
    in
    {
      inherit (clan.config) nixosConfigurations clanInternals;
    };
}
