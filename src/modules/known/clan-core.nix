# clanc's model of clan-core's option tree: the `clan` top-level interface, the inventory
# (machines, tags, instances, roles), and where clan-core finds machines (inventory.json,
# `machines/<name>/` folders). Written for clanc's module system from facts read in clan-core
# d7c35d9127af (modules/clan/top-level-interface.nix, modules/inventoryClass/); not its code.
#
# Arguments (from Rust): `lib` (known/lib.nix), `unknown` (a value clanc cannot know),
# `clanDirectory` (the flake's directory, a path).
{
  lib,
  unknown,
  clanDirectory,
}:
let
  inherit (lib) mkOption types;

  nullOrStr = mkOption {
    type = types.nullOr types.str;
    default = null;
  };

  metaOptions = {
    name = mkOption { type = types.strMatching "[a-zA-Z0-9_-]*"; };
    description = nullOrStr;
    icon = nullOrStr;
    domain = mkOption {
      type = types.str;
      default = "clan";
    };
    tld = nullOrStr;
  };

  # One inventory machine: the options (one module for every machine, so clanc reads the
  # declarations once), and its name and tags. A tag listing the machine in
  # `inventory.tags` is one of its tags, as in clan-core.
  machineOptions = {
    options = {
      name = mkOption { type = types.str; };
      description = nullOrStr;
      icon = nullOrStr;
      machineClass = mkOption {
        type = types.enum [
          "nixos"
          "darwin"
        ];
        default = "nixos";
      };
      tags = mkOption {
        type = types.listOf types.str;
        default = [ ];
        apply = lib.unique;
      };
      installedAt = mkOption {
        type = types.nullOr types.int;
        default = null;
      };
      deploy = {
        targetHost = nullOrStr;
        buildHost = nullOrStr;
        forwardAgent = mkOption {
          type = types.nullOr types.bool;
          default = null;
        };
      };
    };
  };
  machineConfig =
    inventoryConfig:
    let
      # machine name -> the tags whose `inventory.tags` list names it, in tag order: built once
      # for all machines (a per-machine `elem` over every list is quadratic in the fleet).
      listedIn = builtins.zipAttrsWith (_: tags: tags) (
        builtins.concatMap (tag: map (machine: { ${machine} = tag; }) inventoryConfig.tags.${tag}) (
          builtins.filter (
            tag:
            !(builtins.elem tag [
              "all"
              "nixos"
              "darwin"
            ])
          ) (builtins.attrNames inventoryConfig.tags)
        )
      );
    in
    { name, ... }:
    {
      config.name = lib.mkOptionDefault name;
      config.tags = lib.unique (listedIn.${name} or [ ]);
    };

  roleModule = {
    options = {
      machines = mkOption {
        type = types.attrsOf (
          types.submodule {
            options.settings = mkOption {
              type = types.raw;
              default = { };
            };
          }
        );
        default = { };
      };
      tags = mkOption {
        type = types.either (types.listOf types.str) (types.attrsOf types.anything);
        default = { };
      };
      settings = mkOption {
        type = types.raw;
        default = { };
      };
      extraModules = mkOption {
        type = types.listOf types.raw;
        default = [ ];
      };
    };
  };

  instanceOptions = {
    options = {
      module = {
        name = mkOption { type = types.str; };
        input = nullOrStr;
      };
      roles = mkOption {
        type = types.attrsOf (types.submodule roleModule);
        default = { };
      };
    };
  };
  # `module.name` defaults to the instance's name.
  instanceName =
    { name, ... }:
    {
      config.module.name = lib.mkOptionDefault name;
    };

  # The computed tags; every other tag is a list of machine names.
  # clan-core's modules/clan/module.nix makes every machine of the clan's `machines` an
  # inventory machine (`inventory.machines = mapAttrs (_: _: { }) config.machines`): those
  # only there (`clanOnly`) are in `all`, and in `nixos`, the default class.
  tagsModule =
    { machines, clanOnly, ... }:
    let
      ofClass = class: builtins.filter (m: machines.${m}.machineClass == class) (builtins.attrNames machines);
    in
    {
      freeformType = types.lazyAttrsOf (types.listOf types.str);
      options = {
        all = mkOption {
          type = types.listOf types.str;
          default = builtins.attrNames machines ++ clanOnly;
        };
        nixos = mkOption {
          type = types.listOf types.str;
          default = ofClass "nixos" ++ clanOnly;
        };
        darwin = mkOption {
          type = types.listOf types.str;
          default = ofClass "darwin";
        };
      };
    };

  inventoryModule =
    clanMachineNames:
    { config, ... }:
    {
      options = {
        meta = metaOptions;
        machines = mkOption {
          type = types.lazyAttrsOf (
            types.submoduleWith {
              modules = [
                machineOptions
                (machineConfig config)
              ];
              shorthandOnlyDefinesConfig = true;
            }
          );
          default = { };
        };
        tags = mkOption {
          type = types.submoduleWith {
            modules = [ tagsModule ];
            specialArgs.machines = config.machines;
            specialArgs.clanOnly = builtins.filter (n: !(config.machines ? ${n})) clanMachineNames;
          };
          default = { };
        };
        instances = mkOption {
          type = types.attrsOf (
            types.submoduleWith {
              modules = [
                instanceOptions
                instanceName
              ];
              shorthandOnlyDefinesConfig = true;
            }
          );
          default = { };
        };
        # Removed in clan-core: "The inventory.services option has been removed. Use
        # inventory.instances instead." The model reports its use.
        services = mkOption {
          type = types.raw;
          default = { };
        };
        modules = mkOption {
          type = types.attrsOf types.raw;
          default = { };
        };
        assertions = mkOption {
          type = types.anything;
          default = { };
        };
      };
    };

  machinesDir = clanDirectory + "/machines";
  inventoryJson = clanDirectory + "/inventory.json";

  # `machines/<name>/` folders: an inventory machine each, whose configuration imports the
  # folder's configuration.nix, hardware-configuration.nix and disko.nix.
  folderMachines =
    if builtins.pathExists machinesDir then
      builtins.attrNames (lib.filterAttrs (_: kind: kind == "directory") (builtins.readDir machinesDir))
    else
      [ ];
  folderModule = name: {
    _file = machinesDir + "/${name}";
    inventory.machines.${name} = { };
    machines.${name}.imports = builtins.filter builtins.pathExists [
      (machinesDir + "/${name}/configuration.nix")
      (machinesDir + "/${name}/hardware-configuration.nix")
      (machinesDir + "/${name}/disko.nix")
    ];
  };
  jsonModules = lib.optional (builtins.pathExists inventoryJson) {
    _file = inventoryJson;
    inventory = lib.importJSON inventoryJson;
  };

  clanModule =
    { config, ... }:
    {
      imports = jsonModules ++ map folderModule folderMachines;
      options = {
        self = mkOption {
          type = types.raw;
          default = unknown;
        };
        directory = mkOption {
          type = types.raw;
          default = clanDirectory;
        };
        meta = mkOption {
          type = types.submodule { options = metaOptions; };
          default = { };
        };
        inventory = mkOption {
          type = types.submodule (inventoryModule (builtins.attrNames config.machines));
          default = { };
        };
        machines = mkOption {
          type = types.attrsOf types.deferredModule;
          default = { };
        };
        modules = mkOption {
          type = types.attrsOf types.raw;
          default = { };
        };
        specialArgs = mkOption {
          type = types.attrsOf types.raw;
          default = { };
        };
        pkgsForSystem = mkOption {
          type = types.raw;
          default = _: null;
        };
        templates = mkOption {
          type = types.anything;
          default = { };
        };
        vars.settings.secretStore = mkOption {
          type = types.enum [
            "sops"
            "password-store"
            "age"
            "custom"
          ];
          default = "sops";
        };
        secrets = mkOption {
          type = types.anything;
          default = { };
        };
        checks = mkOption {
          type = types.anything;
          default = { };
        };
        exports = mkOption {
          type = types.anything;
          default = { };
        };
        # Outputs clan-core computes by building machines: never known to clanc.
        nixosConfigurations = mkOption {
          type = types.raw;
          default = unknown;
        };
        darwinConfigurations = mkOption {
          type = types.raw;
          default = unknown;
        };
        nixosModules = mkOption {
          type = types.raw;
          default = unknown;
        };
        darwinModules = mkOption {
          type = types.raw;
          default = unknown;
        };
        clanInternals = mkOption {
          type = types.raw;
          default = unknown;
        };
      };
      config.inventory.meta = lib.mkDefault config.meta;
    };
in
{
  inherit clanModule;

  # `clan-core.flakeModules.default`: the `flake.clan` option of a flake-parts flake (`clan`
  # is renamed to it), and the outputs clan-core declares and fills from the clan.
  flakeModule =
    {
      self,
      inputs,
      config,
      ...
    }:
    {
      imports = [ (lib.mkRenamedOptionModule [ "clan" ] [ "flake" "clan" ]) ];
      options.flake = {
        clan = mkOption {
          type = types.submoduleWith {
            modules = [ clanModule ];
            specialArgs = { inherit self inputs; };
          };
          default = { };
        };
        darwinConfigurations = mkOption {
          type = types.lazyAttrsOf types.raw;
        };
        darwinModules = mkOption {
          type = types.lazyAttrsOf types.deferredModule;
        };
      };
      config.flake = {
        inherit (config.flake.clan)
          nixosConfigurations
          nixosModules
          darwinConfigurations
          darwinModules
          ;
      };
    };
}
