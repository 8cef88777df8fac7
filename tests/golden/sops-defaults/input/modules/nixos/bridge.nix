# A NixOS module of the flake's own: every user listed in `bridge.users` gets a sops-nix
# secret from `secrets/<id>.yaml`, named through the flake's `inputs.self`.
{ inputs, ... }:
{
  flake.modules.nixos.bridge =
    { config, lib, ... }:
    let
      cfg = config.bridge;
    in
    {
      options.bridge.users = lib.mkOption {
        type = lib.types.attrsOf (
          lib.types.submodule (
            { name, ... }:
            {
              options.id = lib.mkOption {
                type = lib.types.str;
                default = name;
              };
            }
          )
        );
        default = { };
      };
      config = lib.mkIf (cfg.users != { }) {
        sops.secrets = lib.mapAttrs' (
          _: user:
          lib.nameValuePair "${user.id}-db" {
            sopsFile = inputs.self + "/secrets/${user.id}.yaml";
            key = "db/password";
          }
        ) cfg.users;
      };
    };
}
