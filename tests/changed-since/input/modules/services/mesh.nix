{
  clan.modules.mesh = {
    _class = "clan.service";
    manifest.name = "mesh";
    roles.peer.perInstance =
      { roles, ... }:
      {
        nixosModule =
          { lib, ... }:
          {
            networking.extraHosts = lib.concatStringsSep "\n" (lib.attrNames roles.peer.machines);
          };
      };
  };
}
