{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-parts.url = "github:hercules-ci/flake-parts";
    import-tree.url = "github:vic/import-tree";
    clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  };

  # No `inputs.flake-parts.flakeModules.modules` import: `flake.modules` is a plain value
  # that takes one definition, and two files define it.
  outputs =
    inputs:
    inputs.flake-parts.lib.mkFlake { inherit inputs; } {
      imports = [
        inputs.clan-core.flakeModules.default
        (inputs.import-tree ./modules)
      ];
      systems = [ "x86_64-linux" ];
      clan.meta.name = "pier";
    };
}
