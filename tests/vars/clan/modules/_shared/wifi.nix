{
  clan.core.vars.generators.wifi = {
    share = true;
    prompts.password = {
      description = "The wifi password";
      type = "hidden";
    };
    files.psk = { };
    files.ssid.secret = false;
    script = ''
      printf 'psk:%s' "$(cat "$prompts"/password)" > "$out"/psk
      printf 'home-net' > "$out"/ssid
    '';
  };
}
