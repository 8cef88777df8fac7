# ash: web server for the family blog and photo gallery.
{ ... }:
{
  networking.hostName = "ash";
  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";
  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  services.nginx = {
    enable = true;
    virtualHosts."okafor.example.org".root = "/var/www/blog";
  };
  services.postgresql.enable = true;
  system.stateVersion = "25.05";
}
