{
  clan.machines.beta = {
    imports = [ ../_shared/wifi.nix ];
    nixpkgs.hostPlatform = "x86_64-linux";

    # reads the shared generator's public file
    clan.core.vars.generators.hotspot = {
      dependencies = [ "wifi" ];
      files.config.secret = false;
      files.api-key.deploy = false;
      script = ''
        printf 'ssid=%s' "$(cat "$in"/wifi/ssid)" > "$out"/config
        printf 'api-%s' "$(cat "$prompts"/label)" > "$out"/api-key
      '';
      prompts.label.description = "A label for the API key";
    };
  };
}
