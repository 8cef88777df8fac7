{ config, lib, ... }:
let
  cfg = config.services.thing;
in
{
  imports = [ ./opt-a.nix ];
  options.services.thing = {
    enable = lib.mkEnableOption "thing";
    name = lib.mkOption {
      type = lib.types.str;
      default = "thing";
    };
  };
  config = lib.mkIf cfg.enable { a = [ "thing is ${cfg.name}" ]; };
}
