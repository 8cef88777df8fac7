{
  flake.modules.nixos.web = {
    services.nginx.enable = true;
  };
}
