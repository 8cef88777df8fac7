{
  clan.inventory.machines = {
    apple = {
      description = "VPS in Falkenstein";
      deploy.targetHost = "root@apple.example.org";
    };
    pear = {
      description = "VPS in Helsinki";
      deploy.targetHost = 22;
    };
    quince = {
      description = "Raspberry Pi 5 in the garden shed";
      deploy.targetHost = "root@quince.local";
    };
    plum = {
      description = "Work MacBook";
      machineClass = "darwin";
      deploy.targetHost = "tess@plum.local";
    };
  };

  clan.machines = {
    apple.imports = [ ../hosts/vps.nix ];
    pear.imports = [ ../hosts/vps.nix ];
    quince = {
      nixpkgs.hostPlatform = "aarch64-linux";
      boot.loader.generic-extlinux-compatible.enable = true;
      boot.loader.grub.enable = false;
      system.stateVersion = "25.05";
    };
    plum = {
      nixpkgs.hostPlatform = "aarch64-darwin";
      system.stateVersion = 6;
    };
  };
}
