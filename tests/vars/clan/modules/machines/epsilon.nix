{
  clan.machines.epsilon = {
    nixpkgs.hostPlatform = "x86_64-linux";

    # takes its time: the tests interrupt it
    clan.core.vars.generators.slow = {
      files.done = { };
      script = ''
        touch "$out"/started
        sleep 60
        printf 'done' > "$out"/done
      '';
    };
  };
}
