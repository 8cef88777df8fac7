{
  clan.machines.alpha = {
    imports = [ ../_shared/wifi.nix ];
    nixpkgs.hostPlatform = "x86_64-linux";

    # a certificate authority and a certificate that needs it
    clan.core.vars.generators.ca = {
      files.key = { };
      files.cert.secret = false;
      script = ''
        head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$out"/key
        printf 'ca-cert-of-%s' "$(cut -c1-4 "$out"/key | tr 0-9a-f G-V)" > "$out"/cert
      '';
    };
    clan.core.vars.generators.cert = {
      dependencies = [ "ca" ];
      files.chain.secret = false;
      files.activation-token = {
        neededFor = "activation";
        mode = "0440";
      };
      script = ''
        printf 'chain:%s' "$(cat "$in"/ca/cert)" > "$out"/chain
        printf 'token-from-%s' "$(wc -c < "$in"/ca/key | tr -d ' ')" > "$out"/activation-token
      '';
    };
  };
}
