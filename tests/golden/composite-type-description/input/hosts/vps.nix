# Both VPSes are identical cloud instances; the host name comes from clan.
{ ... }:
{
  nixpkgs.hostPlatform = "x86_64-linux";
  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";
  fileSystems."/" = {
    device = "/dev/sda1";
    fsType = "ext4";
  };
  services.qemuGuest.enable = true;
  system.stateVersion = "25.05";
}
