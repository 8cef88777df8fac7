{ lib, ... }:
{
  clan.inventory.machines.cinnabar.tags = [ "server" ];
  clan.inventory.machines = {
    cinnabar = { };
  };
  clan.meta.name = lib.mkDefault name;
}
