{
  flake.modules.nixos.base = {
    time.timeZone = "UTC";
  };
}
