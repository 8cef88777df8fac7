# half-written, never imported
{ pkgs, ... }: {
  environment.systemPackages = with pkgs; [ vim
