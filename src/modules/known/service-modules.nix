# clanc's model of how clan-core gives a machine the modules of the service instances it takes
# part in, so that the machine's configuration holds what the services define there (their
# vars generators above all). Written for clanc's module system from facts read in clan-core
# 3cbf69b25f56 (lib/inventory/distributed-service/service-module.nix,
# modules/clan/distributed-services.nix, modules/clan/module.nix); not its code:
#
# - a role's settings are the role's interface evaluated with the role's `settings`, and for a
#   machine also the machine's `settings` and the `settings` of every tag of the role's
#   attribute-set form that the machine carries;
# - `perInstance` is a module evaluated with the special arguments `instanceName`, `roles`
#   (every role of the instance with its machines and their evaluated settings), `machine`
#   (`name`, the roles it has in the instance), `settings`, `extendSettings`, `meta`,
#   `exports` and `mkExports`; its `nixosModule` (`darwinModule`) joins the machine;
# - a role's `extraModules` join each of its machines (a string names a file of the clan);
# - `perMachine` likewise, once per service for every machine in one of its instances, with
#   `machine`, `instances`, `meta`, `exports` and `mkExports`;
# - clan-core's own `nixosModules/clanCore` joins every machine (`_class` tells it the class),
#   with the settings clan-core gives it (`nixosModules/machineModules/forName.nix`). Its
#   `vars` module is left out: clanc's model of the same interface (`machine.nix`) declares
#   the generators, because clan-core's gives an option a type computed from `config`, which
#   clanc's module system cannot read before the configuration exists.
#
# Arguments (from Rust): `lib` (known/lib.nix), `unknown` (what clanc cannot know: the exports
# of other services).
{ lib, unknown }:
let
  inherit (lib) mkOption types;

  # What `perInstance` and `perMachine` may define; the rest is accepted as written.
  resultModule = {
    freeformType = types.lazyAttrsOf types.raw;
    options = {
      nixosModule = mkOption {
        type = types.deferredModule;
        default = { };
      };
      darwinModule = mkOption {
        type = types.deferredModule;
        default = { };
      };
    };
  };

  # A clan.service module as far as its distribution needs it.
  serviceSchema = {
    freeformType = types.lazyAttrsOf types.raw;
    options = {
      roles = mkOption {
        type = types.attrsOf (
          types.submodule {
            freeformType = types.lazyAttrsOf types.raw;
            options = {
              interface = mkOption {
                type = types.deferredModule;
                default = { };
              };
              perInstance = mkOption {
                type = types.deferredModule;
                default = { };
              };
            };
          }
        );
        default = { };
      };
      perMachine = mkOption {
        type = types.deferredModule;
        default = { };
      };
    };
  };

  evalService =
    module:
    (lib.evalModules {
      modules = [
        serviceSchema
        module
      ];
    }).config;
in
{
  # The modules a machine gets from the services of its instances.
  #
  # - `clan`: the clan's configuration (`inventory`, `modules`, `meta`);
  # - `machine`: its name; `class`: "nixos" or "darwin";
  # - `clanCore`: the directory of clan-core's source, or null;
  # - `instances`: the instances the machine takes part in, each
  #   `{ name; service; roles = { <role> = [ <machine> ... ]; }; }` with `service` "self" or
  #   "clan-core" and every role of the instance resolved (tags included).
  machineModules =
    {
      clan,
      machine,
      class,
      clanCore,
      clanDirectory,
      instances,
    }:
    let
      core = import (clanCore + "/nixosModules/clanCore") {
        _class = class;
        inherit lib;
      };
      coreModules =
        builtins.filter (m: !(builtins.isPath m && baseNameOf m == "vars")) core.imports
        ++ [
          {
            clan.core.settings = {
              inherit (meta) name;
              icon = meta.icon or null;
              domain = meta.domain or "clan";
              directory = clanDirectory;
              machine.name = machine;
            };
            networking.hostName = lib.mkDefault machine;
          }
        ];
      meta = clan.meta or unknown;
      optionName = if class == "darwin" then "darwinModule" else "nixosModule";
      inventoryMachines = clan.inventory.machines or { };
      tagsOf = m: inventoryMachines.${m}.tags or [ ];

      serviceModule =
        instance:
        let
          name = clan.inventory.instances.${instance.name}.module.name;
        in
        if instance.service == "self" then
          clan.modules.${name}
        else
          clanCore + "/clanServices/${name}/default.nix";

      distribute =
        instance:
        let
          config = clan.inventory.instances.${instance.name};
          service = evalService (serviceModule instance);
          roleConfig = r: config.roles.${r} or { };
          tagSettings =
            r: m:
            let
              tags = (roleConfig r).tags or [ ];
            in
            if builtins.isAttrs tags then
              map (t: tags.${t}.settings or { }) (builtins.filter (t: tags ? ${t}) (tagsOf m))
            else
              [ ];
          settingsModules =
            r: m:
            [ ((roleConfig r).settings or { }) ]
            ++ lib.optionals (m != null) (
              [ (((roleConfig r).machines or { }).${m}.settings or { }) ] ++ tagSettings r m
            );
          settingsOf =
            r: m: extra:
            (lib.evalModules {
              specialArgs = { inherit meta; };
              modules = [ service.roles.${r}.interface ] ++ settingsModules r m ++ extra;
            }).config;
          roles = builtins.mapAttrs (r: members: {
            settings = settingsOf r null [ ];
            machines = lib.genAttrs members (m: {
              settings = settingsOf r m [ ];
            });
          }) instance.roles;
          machineRoles = builtins.filter (r: builtins.elem machine instance.roles.${r}) (
            builtins.attrNames instance.roles
          );
          perInstance =
            r:
            (lib.evalModules {
              specialArgs = {
                inherit meta roles;
                instanceName = instance.name;
                exports = unknown;
                mkExports = _: { };
                machine = {
                  name = machine;
                  roles = machineRoles;
                };
                settings = settingsOf r machine [ ];
                extendSettings = extra: settingsOf r machine (lib.toList extra);
              };
              modules = [
                resultModule
                service.roles.${r}.perInstance
              ];
            }).config.${optionName};
          # A role's `extraModules` join its machines (a string is a file of the clan).
          extraModules =
            r:
            map (m: if builtins.isString m then clanDirectory + "/${m}" else m) (
              (roleConfig r).extraModules or [ ]
            );
        in
        {
          inherit service roles machineRoles;
          modules = builtins.concatMap (r: [ (perInstance r) ] ++ extraModules r) machineRoles;
        };

      distributed = map (i: i // { result = distribute i; }) instances;

      # perMachine: once per service (by where it comes from and its name).
      serviceKey = i: "${i.service}/${clan.inventory.instances.${i.name}.module.name}";
      byService = builtins.groupBy serviceKey distributed;
      perMachine =
        group:
        let
          first = builtins.head group;
        in
        (lib.evalModules {
          specialArgs = {
            inherit meta;
            exports = unknown;
            mkExports = _: { };
            machine = {
              name = machine;
              roles = lib.unique (builtins.concatMap (i: i.result.machineRoles) group);
            };
            instances = builtins.listToAttrs (
              map (i: {
                inherit (i) name;
                value.roles = i.result.roles;
              }) group
            );
          };
          modules = [
            resultModule
            first.result.service.perMachine
          ];
        }).config.${optionName};
    in
    lib.optionals (clanCore != null) coreModules
    ++ builtins.concatMap (i: i.result.modules) distributed
    ++ map perMachine (builtins.attrValues byService);
}
