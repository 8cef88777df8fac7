{ ... }:
{
  nixpkgs.hostPlatform = "x86_64-linux";
  boot.loader.grub.device = "/dev/vda";
  fileSystems."/".device = "/dev/vda1";
  system.stateVersion = "25.05";
}
