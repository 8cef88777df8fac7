{ config, ... }:
{
  flake.clan.inventory.machines.quay-1.deploy.targetHost = "root@quay-1.example.org";
  flake.clan.machines.quay-1 = {
    imports = [
      config.flake.nixosModules.base
      config.flake.nixosModules.site
    ];
    services.site.enable = true;
  };
}
