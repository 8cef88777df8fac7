{
  flake.modules.nixos."machines/nixos/cinnabar" = { ... }: {
    networking.hostName = "cinnabar";
  };
}
