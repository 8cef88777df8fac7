{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-parts.url = "github:hercules-ci/flake-parts";
    import-tree.url = "github:vic/import-tree";
    clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  };

  # The clan is defined in several files, through `flake.clan` and through `clan` (renamed to
  # it by clan-core's flake module), and so are the NixOS modules (`flake.nixosModules`, which
  # flake-parts declares): their definitions merge, as in flake-parts.
  outputs =
    inputs:
    inputs.flake-parts.lib.mkFlake { inherit inputs; } {
      imports = [
        inputs.clan-core.flakeModules.default
        (inputs.import-tree ./modules)
      ];
      systems = [ "x86_64-linux" ];
      clan.meta.name = "quay";
    };
}
