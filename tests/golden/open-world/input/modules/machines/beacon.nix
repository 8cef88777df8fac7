{ config, ... }:
{
  # nixpkgs' NixOS modules declare these; clanc does not see them, so they are unknown
  flake.modules.nixos.stash =
    { config, lib, ... }:
    {
      clan.core.vars.generators.stash = {
        files.password.owner = config.services.stash.user;
        files.password.group = config.users.users.${config.services.stash.user}.group or "stash";
        script = "echo secret > $out/password";
      };
      networking.firewall.allowedTCPPorts = lib.optional (
        config.networking.hostName == "beacon"
      ) 9999;
      users.groups = lib.mapAttrs' (
        name: user: lib.nameValuePair "${name}-extra" { }
      ) (lib.filterAttrs (_: user: user.isNormalUser) config.users.users);
      warnings = lib.optional (config.services.openssh.settings != { }) "ssh settings set";
      # nixpkgs' lib has more than clanc's model of it
      environment.etc.probe.text = lib.boolToString (lib.pathIsRegularFile ./beacon.nix);
    };
  clan.machines.beacon = {
    imports = [ config.flake.modules.nixos.stash ];
    nixpkgs.hostPlatform = "x86_64-linux";
  };
}
