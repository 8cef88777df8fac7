{ config, inputs, ... }:
{
  clan.machines.web =
    { self, ... }:
    {
      imports = [ config.flake.modules.nixos.bridge ];
      networking.hostName = "web";
      nixpkgs.hostPlatform = "x86_64-linux";
      system.stateVersion = "25.05";

      # `secrets/web.yaml` exists; `secrets/ghost.yaml` does not (S001)
      bridge.users.web = { };
      bridge.users.ghost = { };

      # the machine's default key: `smtp` and `backup-passphrase` look up `smtp/pasword`
      sops.defaultSopsKey = "smtp/pasword";
      sops.secrets.smtp.sopsFile = "${inputs.self}/secrets/web.yaml"; # S002
      # S003: backup.yaml is encrypted for the admin only
      sops.secrets.backup-passphrase.sopsFile = self + "/secrets/backup.yaml";

      # home-manager's sops-nix: the user's own key file on the machine decrypts these, so
      # that backup.yaml is not encrypted for the machine is no finding
      home-manager.extraSpecialArgs.flake = inputs.self;
      home-manager.users.ada =
        { flake, ... }:
        {
          sops.defaultSopsFile = flake.inputs.self + "/secrets/backup.yaml";
          sops.secrets.backup-passphrase = { };
          # the user's default key (not the machine's): the user's secrets look up `gpg/key`
          sops.defaultSopsKey = "gpg/key";
          sops.secrets.gpg-key = { }; # S002: not in backup.yaml
        };
      home-manager.users.bob.sops.secrets.mail.sopsFile = "${self}/secrets/bob.yaml"; # S001
    };
}
