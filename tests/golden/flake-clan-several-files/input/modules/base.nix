{
  flake.nixosModules.base =
    { lib, ... }:
    {
      nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
      time.timeZone = "UTC";
    };
}
