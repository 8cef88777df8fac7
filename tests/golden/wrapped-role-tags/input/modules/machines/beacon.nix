{ lib, ... }:
{
  # a machine's module under mkIf: its generator counts (`vars/per-machine/beacon/wg-address`)
  clan.machines.beacon = lib.mkIf true (
    { ... }:
    {
      networking.hostName = "beacon";
      nixpkgs.hostPlatform = "x86_64-linux";
      boot.loader.grub.enable = true;
      boot.loader.grub.device = "/dev/sda";
      fileSystems."/" = {
        device = "/dev/sda1";
        fsType = "ext4";
      };
      services.qemuGuest.enable = true;
      system.stateVersion = "25.05";
      clan.core.vars.generators.wg-address = {
        files.address.secret = false;
        script = "echo fd00::1 > $out/address";
      };
    }
  );
}
