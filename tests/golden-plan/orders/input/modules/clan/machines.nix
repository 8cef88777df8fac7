{
  clan.inventory.machines = {
    press = {
      tags = [ "web" ];
      deploy.targetHost = "root@press.example.org";
    };
    proof = {
      tags = [ "web" ];
      deploy.targetHost = "root@proof.example.org";
    };
    galley = {
      machineClass = "darwin";
      deploy.targetHost = "ines@galley.local";
    };
  };

  clan.machines = {
    press = {
      nixpkgs.hostPlatform = "x86_64-linux";
      boot.loader.grub.device = "/dev/vda";
      fileSystems."/".device = "/dev/vda1";
      system.stateVersion = "25.05";
    };
    proof = {
      nixpkgs.hostPlatform = "x86_64-linux";
      boot.loader.grub.device = "/dev/vda";
      fileSystems."/".device = "/dev/vda1";
      system.stateVersion = "25.05";
    };
    galley = {
      nixpkgs.hostPlatform = "aarch64-darwin";
      system.stateVersion = 6;
    };
  };
}
