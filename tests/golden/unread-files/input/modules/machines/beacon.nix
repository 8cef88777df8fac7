{
  clan.machines.beacon = {
    nixpkgs.hostPlatform = "x86_64-linux";
    # decrypted in place (`sops decrypt -i`) before the owner evaluates the flake
    services.openssh.ports = import ../../machines/beacon/values/ssh-port.nix;
  };
}
