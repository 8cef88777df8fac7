{
  # The most common shape of a NixOS module: its configuration under `mkIf` of its own option.
  flake.nixosModules.site =
    { config, lib, ... }:
    let
      cfg = config.services.site;
    in
    {
      options.services.site.enable = lib.mkEnableOption "the site";
      config = lib.mkIf cfg.enable {
        services.nginx.enable = true;
        nixpkgs.hostPlatform = "x86_64-linux";
      };
    };
}
