# elm: monitoring (grafana) and the nightly database dumps.
{ ... }:
{
  networking.hostName = "elm";
  boot.loader.systemd-boot.enable = true;
  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  services.nginx.enable = true;
  services.openssh.ports = [ 2222 ];
  system.stateVersion = "25.05";
}
