# clanc's model of flake-parts: the options of its core modules (`systems`, `perSystem`,
# `flake` with the outputs flake-parts declares: `nixosModules`, `overlays`, the per-system
# sets...), of `flake-parts.flakeModules.modules` (`flake.modules.<class>.<name>`, deferred
# modules whose definitions combine) and of `flake-parts.flakeModules.flakeModules`. Any
# other `flake.<name>` is a raw value that takes one definition, as in flake-parts. Written
# from flake-parts' documented behaviour; not its code.
{ lib }:
let
  inherit (lib) mkOption types;
  # `flake.<name>` that flake-parts fills from `perSystem`: a set per system.
  perSystem = type: mkOption {
    type = types.lazyAttrsOf type;
    default = { };
  };
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
          modules = [
            {
              freeformType = types.lazyAttrsOf (types.uniq types.raw);
              options = {
                nixosModules = mkOption {
                  type = types.lazyAttrsOf types.deferredModule;
                  default = { };
                  apply = lib.mapAttrs (
                    k: v: {
                      _class = "nixos";
                      imports = [ v ];
                    }
                  );
                };
                nixosConfigurations = mkOption {
                  type = types.lazyAttrsOf types.raw;
                  default = { };
                };
                overlays = mkOption {
                  type = types.lazyAttrsOf (
                    types.uniq (types.functionTo (types.functionTo (types.lazyAttrsOf types.unspecified)))
                  );
                  default = { };
                  apply = lib.mapAttrs (_k: f: final: prev: f final prev);
                };
                packages = perSystem (types.lazyAttrsOf types.package);
                checks = perSystem (types.lazyAttrsOf types.package);
                devShells = perSystem (types.lazyAttrsOf types.package);
                apps = perSystem (types.lazyAttrsOf types.anything);
                legacyPackages = perSystem (types.lazyAttrsOf types.raw);
                formatter = perSystem (types.nullOr types.package);
              };
            }
          ];
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

  # `flake-parts.flakeModules.flakeModules`: `flake.flakeModules.<name>`, deferred modules.
  flakeModulesModule = {
    options.flake = mkOption {
      type = types.submoduleWith {
        modules = [
          {
            options.flakeModules = mkOption {
              type = types.lazyAttrsOf types.deferredModule;
              default = { };
            };
          }
        ];
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
