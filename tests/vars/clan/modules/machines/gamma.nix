{
  clan.machines.gamma = {
    nixpkgs.hostPlatform = "x86_64-linux";

    clan.core.vars.generators.first = {
      files.seed = { };
      script = ''
        printf 'seed-value' > "$out"/seed
      '';
    };
    # fails midway, after writing one of its files
    clan.core.vars.generators.broken = {
      dependencies = [ "first" ];
      files.one = { };
      files.two = { };
      script = ''
        printf 'half-done' > "$out"/one
        echo "broken: giving up" >&2
        exit 7
      '';
    };
  };
}
