{ config, inputs, ... }:
let
  inherit (config.flake.modules.nixos) bridge;
in
{
  clan.machines.db =
    { config, lib, ... }:
    {
      imports = [ bridge ];
      nixpkgs.hostPlatform = "x86_64-linux";
      system.stateVersion = "25.05";
      # a user only where an option clanc does not model says so: `secrets/ghost.yaml` may
      # never be named, so its absence is no finding
      bridge.users.ghost = lib.mkIf config.services.postgresql.enable { };
      # every secret of this machine is a whole file (`binary`): no key is looked up
      sops.defaultSopsFormat = "binary";
      sops.secrets.blob.sopsFile = inputs.self + "/secrets/db.bin";
    };
}
