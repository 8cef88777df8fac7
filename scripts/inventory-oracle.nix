# The inventory oracle's evaluation (called by scripts/inventory-oracle, which prepares `plan`).
#
# It calls the clan's own `flake.nix` `outputs` the way Nix does for a locked flake: every input
# of flake.lock is bound, `self` is the outputs plus the source information. Inputs that cannot
# be fetched offline are stubs; clan-core, flake-parts and import-tree are real snapshots (at the
# revision flake.lock pins when the mirror has it), nixpkgs is nixpkgs' `lib` and nothing else.
# The inventory is then read from `clanInternals.inventoryClass.inventory` (what clan-core's
# own modules evaluated) and each role is resolved with clan-core's `clanLib.inventory.resolveTags`,
# called exactly as clan-core's distributed-services module calls it.
#
# plan: JSON file written by scripts/inventory-oracle:
#   { clanDir, nixpkgsLib, emptyDir, systemsDir, real = { <lock node> = <source dir> } }
# part: "all" (everything), "machines", "instanceNames", or "instance:<name>" (one instance).
{
  plan,
  part ? "all",
}:
let
  p = builtins.fromJSON (builtins.readFile plan);

  # Debian's Nix 2.8 lacks some builtins newer code calls; every file the oracle imports sees
  # them through scopedImport (so do the files those import). Each stands in for the real
  # builtin with what 2.8 has.
  polyfills = {
    # readFileType (Nix 2.14): the type readDir reports for the entry in its parent.
    readFileType =
      path:
      let
        s = toString path;
      in
      if s == "/" then "directory" else (builtins.readDir (dirOf path)).${baseNameOf s};
  };
  scope = {
    builtins = builtins // polyfills;
    import = scopedImport scope;
    scopedImport = extra: scopedImport (scope // extra);
  }
  // polyfills;
  import = scopedImport scope;
  clanDir = /. + p.clanDir;
  lock = builtins.fromJSON (builtins.readFile (clanDir + "/flake.lock"));
  nodes = lock.nodes;

  nixpkgsLibFlake = (import (p.nixpkgsLib + "/lib/flake.nix")).outputs {
    self = {
      outPath = p.nixpkgsLib;
    };
  };
  nixpkgsLib0 = nixpkgsLibFlake.lib;

  # nixpkgs' flake adds these to its lib; the oracle never builds a machine.
  lib = nixpkgsLib0.extend (
    _final: _prev: {
      nixosSystem = _: throw "oracle stub: nixpkgs.lib.nixosSystem is not available offline";
      nixos = { };
    }
  );

  emptyDir = /. + p.emptyDir;

  # outPath is a string, as for a fetched flake (a store path string): `"${self}/x"` then names
  # the file in place (nix-instantiate --eval is read-only: it cannot copy a path to the store).
  sourceInfo = node: dir: {
    outPath = toString dir;
    lastModified = node.locked.lastModified or 0;
    lastModifiedDate = "19700101000000";
    narHash = node.locked.narHash or "";
  }
  // (if node ? locked.rev then {
    rev = node.locked.rev;
    shortRev = builtins.substring 0 7 node.locked.rev;
  } else { });

  # A follows path (a list of input names from the root) to a lock node name.
  followPath =
    nodeName: path:
    if path == [ ] then
      nodeName
    else
      followPath (resolveRef nodes.${nodeName}.inputs.${builtins.head path}) (builtins.tail path);
  resolveRef = ref: if builtins.isString ref then ref else followPath lock.root ref;

  inputsOf = nodeName: builtins.mapAttrs (_: ref: built.${resolveRef ref}) (nodes.${nodeName}.inputs or { });

  callFlake =
    nodeName: dir: info:
    let
      inputs = inputsOf nodeName;
      outputs = (import (dir + "/flake.nix")).outputs (inputs // { self = result; });
      result =
        outputs
        // info
        // {
          inherit inputs outputs;
          _type = "flake";
        };
    in
    result;

  desc =
    node:
    let
      l = node.original or { } // node.locked or { };
    in
    "${l.owner or ""}/${l.repo or ""} ${l.url or ""} ${l.path or ""}";
  isNixpkgs =
    name: node:
    let
      d = desc node;
    in
    builtins.match ".*(/nixpkgs |/nixpkgs.lib |nixexprs|nixos.org/channels|releases.nixos.org).*" d
    != null
    || (builtins.match "nixpkgs.*" name != null && (node.locked.type or "") != "path");
  isRepo = repo: node: (node.locked.repo or node.original.repo or "") == repo;
  isSystems = node: (node.locked.owner or "") == "nix-systems";

  # A stubbed module: it declares nothing, but takes any definition it would have declared
  # (freeform), since the real module's options are unknown (a flake-parts module of a stubbed
  # input, e.g. treefmt-nix, declares top-level options the clan then defines).
  stubModule = name: {
    _file = "oracle-stub:${name}";
    imports = [
      (
        { lib, ... }:
        {
          config._module.freeformType = lib.types.lazyAttrsOf lib.types.raw;
        }
      )
    ];
  };
  stubModules = name: {
    default = stubModule name;
    ${name} = stubModule name;
  };
  # An input the oracle cannot fetch: its source is an empty directory, its module sets hold
  # empty modules, anything else is absent (reading it is an evaluation error, reported).
  stub =
    name: node:
    let
      self =
        sourceInfo node emptyDir
        // {
          _type = "flake";
          inputs = inputsOf name;
          outputs = self;
          __oracleStub = true;
          lib = { };
          flakeModule = stubModule name;
          flakeModules = stubModules name;
          nixosModules = stubModules name;
          darwinModules = stubModules name;
          homeManagerModules = stubModules name;
          homeModules = stubModules name;
          modules = {
            flake = stubModules name;
            nixos = stubModules name;
            darwin = stubModules name;
            homeManager = stubModules name;
          };
          overlays = {
            default = _final: _prev: { };
          };
          overlay = _final: _prev: { };
          packages = { };
          legacyPackages = { };
          checks = { };
          devShells = { };
          apps = { };
        };
    in
    self;

  nixpkgsStub =
    name: node:
    sourceInfo node emptyDir
    // {
      _type = "flake";
      inputs = { };
      inherit lib;
      legacyPackages = { };
      nixosModules = { };
      __oracleStub = true;
    };

  systemsStub =
    name: node:
    sourceInfo node (/. + p.systemsDir)
    // {
      _type = "flake";
      inputs = { };
      __oracleStub = true;
    };

  darwinStub =
    name: node:
    stub name node
    // {
      lib = {
        darwinSystem = _: throw "oracle stub: nix-darwin.lib.darwinSystem is not available offline";
      };
    };

  build =
    name: node:
    if name == lock.root then
      callFlake name clanDir (sourceInfo { } clanDir)
    else if p.real ? ${name} then
      callFlake name (/. + p.real.${name}) (sourceInfo node (/. + p.real.${name}))
    else if (node.locked.type or "") == "path" && builtins.substring 0 1 (node.locked.path or "/") != "/" then
      callFlake name (clanDir + "/${node.locked.path}") (sourceInfo node (clanDir + "/${node.locked.path}"))
    else if (node.flake or true) == false then
      sourceInfo node emptyDir
    else if isNixpkgs name node then
      nixpkgsStub name node
    else if isSystems node then
      systemsStub name node
    else if isRepo "nix-darwin" node then
      darwinStub name node
    else
      stub name node;

  built = builtins.mapAttrs build nodes;

  flake = built.${lock.root};
  clanCoreNode =
    let
      names = builtins.filter (n: p.real ? ${n} && p.realKind.${n} == "clan-core") (builtins.attrNames nodes);
    in
    if names == [ ] then throw "oracle: no clan-core snapshot" else built.${builtins.head names};
  clanLib = clanCoreNode.clanLib or clanCoreNode.lib;

  internals =
    flake.clanInternals or flake.clan.clanInternals or flake.clan.config.clanInternals
      or (throw "oracle: the flake's outputs have no clanInternals (nor clan.clanInternals)");
  # clan-core before 2025 had no inventoryClass: clanInternals.inventory was the evaluated
  # inventory, and had no machineClass (every machine was built with nixosSystem).
  inventory = internals.inventoryClass.inventory or internals.inventory;

  machines = builtins.mapAttrs (_: m: { class = m.machineClass or "nixos"; }) inventory.machines;

  instance =
    instanceName: inst: {
      module = {
        name = inst.module.name;
        input = inst.module.input or null;
      };
      roles = builtins.mapAttrs (
        roleName: role:
        builtins.attrNames (
          lib.genAttrs
            (clanLib.inventory.resolveTags {
              members = {
                machines = lib.attrNames role.machines;
                tags = lib.attrNames role.tags;
              };
              inherit (inventory) machines;
              inherit instanceName roleName;
            }).machines
            (_: null)
        )
      ) inst.roles;
    };
  instances = inventory.instances or { };
in
if part == "all" then
  {
    inherit machines;
    instances = builtins.mapAttrs instance instances;
  }
else if part == "machines" then
  machines
else if part == "instanceNames" then
  builtins.attrNames instances
else
  let
    n = lib.removePrefix "instance:" part;
  in
  instance n instances.${n}
