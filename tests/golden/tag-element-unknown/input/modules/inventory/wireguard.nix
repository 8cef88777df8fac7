{
  clan.inventory.instances.wireguard = {
    roles.controller.machines.beacon.settings.endpoint = "beacon.example.org";
    # no machine is known to carry `vpn`, but mbp's unknown tag may be it: no C005
    roles.peer.tags.vpn = { };
    # a machine no source defines: still C001, the machine names are all known
    roles.peer.machines.ghost = { };
    roles.peer.settings.controller = "beacon";
  };
}
