{ ... }:
{
  services.nginx.enable = true;
}
