{
  # an interface with a freeformType accepts settings it does not declare
  clan.modules.tunnel = {
    _class = "clan.service";
    manifest.name = "tunnel";
    roles.peer = {
      interface =
        { lib, ... }:
        {
          freeformType = lib.types.attrsOf lib.types.anything;
          options.sshUser = lib.mkOption {
            type = lib.types.str;
            default = "root";
          };
        };
      perInstance =
        { settings, ... }:
        {
          nixosModule.services.tailscale.extraUpFlags = if settings.enableSSH or false then [ "--ssh" ] else [ ];
        };
    };
  };
  clan.inventory.instances.tunnel = {
    module = {
      name = "tunnel";
      input = "self";
    };
    roles.peer.tags = [ "server" ];
    roles.peer.settings.enableSSH = false;
  };
}
