# `outputs` takes only the inputs it names: Nix passes no `nixpkgs` to a function that does
# not ask for one (a registry input comes only from a formal argument, as `home` below).
{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs = { self, clan-core, home }:
    let
      clan = clan-core.lib.clan {
        inherit self;
        meta.name = "registry";
        inventory.machines.m = { };
      };
    in
    {
      inherit (clan.config) nixosConfigurations;
      homeModules = home;
    };
}
