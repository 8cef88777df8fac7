# clanc's model of flake-parts: the options of its core module (`systems`, `perSystem`,
# `flake`) and of `flake-parts.flakeModules.modules` (`flake.modules.<class>.<name>`, deferred
# modules whose definitions combine). Without the latter, every `flake.<name>` is a raw value
# that takes one definition, as in flake-parts. Written from flake-parts' documented
# behaviour; not its code.
{ lib }:
let
  inherit (lib) mkOption types;
in
{
  coreModule = {
    options = {
      systems = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      perSystem = mkOption {
        type = types.deferredModule;
        default = { };
      };
      flake = mkOption {
        type = types.submoduleWith {
          modules = [ { freeformType = types.lazyAttrsOf types.raw; } ];
        };
        default = { };
      };
      debug = mkOption {
        type = types.bool;
        default = false;
      };
      transposition = mkOption {
        type = types.anything;
        default = { };
      };
    };
  };

  modulesModule = {
    options.flake = mkOption {
      type = types.submoduleWith {
        modules = [
          {
            options.modules = mkOption {
              type = types.lazyAttrsOf (types.lazyAttrsOf types.deferredModule);
              default = { };
            };
          }
        ];
      };
    };
  };
}
