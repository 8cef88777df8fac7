{ lib, ... }:
{
  clan.inventory.machines.cinnabar.tags = [ "server" ];
  clan.inventory.machines = {
    cinnabar = { tags = [ "db" ]; };
  };
  clan.meta.name = lib.mkDefault name;
}
