{ ... }:
{
  services.postfix.enable = true;
}
