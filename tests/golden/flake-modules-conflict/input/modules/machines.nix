{ config, ... }:
{
  clan.inventory.machines.pier-1.deploy.targetHost = "root@pier-1.example.org";
  clan.machines.pier-1.imports = [
    config.flake.modules.nixos.base
    config.flake.modules.nixos.web
  ];
}
