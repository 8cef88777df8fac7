{ self, ... }:
{
  clan.meta.name = "beacon";
  clan.inventory.machines.beacon = {
    tags = [ "server" ];
    deploy.targetHost = "root@beacon.example.org?ProxyJump=admin@gateway.example.org";
  };
  # `self` is the flake's source: its files are the clan's own
  clan.inventory.instances = import "${self}/instances.nix";
}
