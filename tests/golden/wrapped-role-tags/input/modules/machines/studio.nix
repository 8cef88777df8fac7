{
  clan.machines.studio =
    { ... }:
    {
      networking.hostName = "studio";
      nixpkgs.hostPlatform = "x86_64-linux";
      boot.loader.systemd-boot.enable = true;
      fileSystems."/" = {
        device = "/dev/disk/by-label/nixos";
        fsType = "ext4";
      };
      system.stateVersion = "25.05";
    };
}
