{ lib, ... }:
{
  clan.inventory.instances.wireguard = {
    roles.controller.machines.beacon.settings.endpoint = "beacon.example.org";
    # the attrset form under mkIf: the tag is `vpn`, not `condition` or `content`
    roles.peer.tags = lib.mkIf true { vpn = { }; };
    roles.peer.settings.controller = "beacon";
  };
}
