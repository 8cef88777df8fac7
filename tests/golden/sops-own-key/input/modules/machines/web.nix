{
  clan.machines.web =
    { config, ... }:
    {
      networking.hostName = "web";
      nixpkgs.hostPlatform = "x86_64-linux";
      boot.loader.grub.device = "/dev/sda";
      fileSystems."/" = {
        device = "/dev/sda1";
        fsType = "ext4";
      };
      system.stateVersion = "25.05";
      services.postgresql.enable = true;

      # sops-nix decrypts with a key of its own, not the clan's machine key
      sops.age.keyFile = "/home/ada/.config/sops/age/keys.txt";
      # legacy sops-nix secrets, not yet moved to clan vars
      sops.secrets."db/password".sopsFile = ../../secrets/web.yaml;
      sops.secrets.backup-passphrase = {
        sopsFile = ../../secrets/backup.yaml;
        mode = "0400";
      };
    };
}
