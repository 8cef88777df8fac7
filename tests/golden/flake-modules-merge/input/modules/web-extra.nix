{
  flake.modules.nixos.web = {
    services.nginx.recommendedProxySettings = true;
  };
}
