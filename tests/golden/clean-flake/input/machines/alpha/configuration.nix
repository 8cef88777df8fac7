{ pkgs, ... }:
{
  networking.hostName = "alpha";
  environment.systemPackages = [ pkgs.git ];
  system.stateVersion = "24.11";
}
