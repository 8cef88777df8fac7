# The few options of a machine's NixOS/nix-darwin configuration that the clan model reads:
# `nixpkgs.hostPlatform`, the vars generators (`clan.core.vars.generators`, clan-core's
# nixosModules/clanCore/vars/interface.nix) and legacy sops-nix secrets (`sops.secrets`, also
# those of home-manager's sops-nix under `home-manager.users.<name>`).
# Every other option of the machine's modules is accepted as written: clanc does not model NixOS.
# `withVars = false` leaves the generators to clan-core's own declaration (its clanCore module
# is then part of the machine).
{
  lib,
  withVars ? true,
}:
let
  inherit (lib) mkOption types;

  # Each submodule below is one static set of options and, where a default is the instance's
  # name (or the machine's `sops` settings), a module defining it at the options' default
  # priority (`mkOptionDefault`, what nixpkgs makes of an option's `default`). A module whose
  # `options` depend on its arguments would be declared again for every instance: every file
  # of every generator, every secret, of every machine.
  named =
    { name, ... }:
    {
      config.name = lib.mkOptionDefault name;
    };

  fileModule = [
    fileOptions
    named
  ];
  fileOptions = {
    options = {
      name = mkOption { type = types.str; };
      secret = mkOption {
        type = types.bool;
        default = true;
      };
      deploy = mkOption {
        type = types.bool;
        default = true;
      };
      owner = mkOption {
        type = types.str;
        default = "root";
      };
      group = mkOption {
        type = types.str;
        default = "root";
      };
      mode = mkOption {
        type = types.str;
        default = "0400";
      };
      neededFor = mkOption {
        type = types.str;
        default = "services";
      };
      restartUnits = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      path = mkOption {
        type = types.raw;
        default = null;
      };
      value = mkOption {
        type = types.raw;
        default = null;
      };
    };
  };

  promptModule = [
    promptOptions
    (
      { name, ... }:
      {
        config = {
          name = lib.mkOptionDefault name;
          description = lib.mkOptionDefault name;
        };
      }
    )
  ];
  promptOptions = {
    options = {
      name = mkOption { type = types.str; };
      description = mkOption { type = types.str; };
      type = mkOption {
        type = types.str;
        default = "line";
      };
      persist = mkOption {
        type = types.bool;
        default = false;
      };
    };
  };

  generatorModule = [
    generatorOptions
    named
  ];
  generatorOptions = {
    options = {
      name = mkOption { type = types.str; };
      files = mkOption {
        type = types.attrsOf (types.submodule fileModule);
        default = { };
      };
      prompts = mkOption {
        type = types.attrsOf (types.submodule promptModule);
        default = { };
      };
      dependencies = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      runtimeInputs = mkOption {
        type = types.listOf types.raw;
        default = [ ];
      };
      # clan-core: `either str path`: equal definitions merge (a generator two roles of one
      # service define alike). The value is not looked at otherwise, so that an edit of a
      # script the model only copies keeps the model.
      script = mkOption {
        type = lib.mkOptionType {
          name = "strOrPath";
          description = "string or path";
          check = _: true;
          merge = lib.mergeEqualOption;
        };
        default = "";
      };
      share = mkOption {
        type = types.bool;
        default = false;
      };
      validation = mkOption {
        type = types.nullOr types.anything;
        default = null;
      };
    };
  };
  # sops-nix's `sops.secrets.<name>` (modules/sops/default.nix, and the same in its
  # home-manager module): what the checks read (sopsFile, key, format), the rest accepted as
  # written. `cfg` is the `sops` set the secret belongs to.
  sopsSecretModule = cfg: [
    sopsSecretOptions
    (
      { name, ... }:
      {
        config = {
          name = lib.mkOptionDefault name;
          key = lib.mkOptionDefault (if cfg.defaultSopsKey != null then cfg.defaultSopsKey else name);
          format = lib.mkOptionDefault cfg.defaultSopsFormat;
        };
      }
    )
  ];
  sopsSecretOptions = {
    options = {
      name = mkOption { type = types.str; };
      sopsFile = mkOption {
        type = types.raw;
        default = null;
      };
      key = mkOption { type = types.str; };
      format = mkOption { type = types.str; };
      path = mkOption { type = types.raw; };
      owner = mkOption { type = types.raw; };
      group = mkOption { type = types.raw; };
      mode = mkOption { type = types.raw; };
      restartUnits = mkOption { type = types.raw; };
      reloadUnits = mkOption { type = types.raw; };
      neededForUsers = mkOption { type = types.raw; };
      uid = mkOption { type = types.raw; };
      gid = mkOption { type = types.raw; };
    };
  };
  # The `sops` options the checks read, in NixOS' and in home-manager's sops-nix;
  # `defaultSopsFile` and the key options are read as written (undeclared). The settings are
  # declared by static modules, once for all machines and users; `secrets`, whose submodules'
  # defaults are the `sops` settings `cfg` they belong to, by a module of each.
  sopsSettingsOptions = {
    defaultSopsKey = mkOption {
      type = types.nullOr types.str;
      default = null;
    };
    defaultSopsFormat = mkOption {
      type = types.str;
      default = "yaml";
    };
  };
  sopsSecretsOption =
    cfg:
    mkOption {
      type = types.attrsOf (types.submodule (sopsSecretModule cfg));
      default = { };
    };
  # A home-manager user's sops-nix.
  homeSopsModules = [
    { options.sops = sopsSettingsOptions; }
    (
      { config, ... }:
      {
        options.sops.secrets = sopsSecretsOption config.sops;
      }
    )
  ];
  # Legacy sops-nix, for the machine and for each home-manager user (home-manager's
  # nixos/darwin module: `home-manager.users.<name>` is a submodule of home-manager modules
  # with `home-manager.extraSpecialArgs` as special arguments).
  sopsModule =
    { config, ... }:
    {
      options = {
        sops.secrets = sopsSecretsOption config.sops;
        home-manager.users = mkOption {
          type = types.attrsOf (
            types.submoduleWith {
              modules = homeSopsModules;
              specialArgs = {
                osConfig = config;
              }
              // config.home-manager.extraSpecialArgs;
            }
          );
          default = { };
        };
      };
    };
in
{
  imports = [ sopsModule ];
  options = {
    nixpkgs.hostPlatform = mkOption {
      type = types.raw;
    };
    sops = sopsSettingsOptions;
  }
  // lib.optionalAttrs withVars {
    clan.core.vars.generators = mkOption {
      type = types.attrsOf (types.submodule generatorModule);
      default = { };
    };
  };
}
