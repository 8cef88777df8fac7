{
  clan.machines.delta =
    { pkgs, ... }:
    {
      nixpkgs.hostPlatform = "x86_64-linux";

      # its script names a package: clanc cannot run it
      clan.core.vars.generators.greeting = {
        files.text.secret = false;
        script = ''
          ${pkgs.hello}/bin/hello > "$out"/text
        '';
      };
    };
}
