# The options of a clan.service module (`_class = "clan.service"`) that clanc reads: the
# manifest with its constraints, and each role's description and interface. Everything else
# (perInstance, perMachine, exports) is accepted as written. From clan-formats.md.
{ lib }:
let
  inherit (lib) mkOption types;
  optionalStr = mkOption {
    type = types.nullOr types.str;
    default = null;
  };
  optionalInt = mkOption {
    type = types.nullOr types.int;
    default = null;
  };
in
{
  options = {
    _class = mkOption {
      type = types.raw;
      default = "clan.service";
    };
    manifest = {
      name = mkOption { type = types.str; };
      description = optionalStr;
      readme = optionalStr;
      categories = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      features = mkOption {
        type = types.anything;
        default = { };
      };
      constraints = {
        maxInstances = optionalInt;
        roles = mkOption {
          type = types.attrsOf (
            types.submodule {
              options = {
                minMachines = optionalInt;
                maxMachines = optionalInt;
              };
            }
          );
          default = { };
        };
      };
    };
    roles = mkOption {
      type = types.attrsOf (
        types.submodule {
          options = {
            description = optionalStr;
            interface = mkOption {
              type = types.deferredModule;
              default = { };
            };
            perInstance = mkOption {
              type = types.raw;
              default = null;
            };
          };
        }
      );
      default = { };
    };
    perMachine = mkOption {
      type = types.raw;
      default = null;
    };
  };
}
