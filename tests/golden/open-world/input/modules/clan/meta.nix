{
  clan.meta.name = "beacon";
  clan.inventory.machines.beacon = {
    tags = [ "server" ];
    deploy.targetHost = "root@beacon.example.org?ProxyJump=admin@gateway.example.org";
  };
  clan.inventory.instances.admin.roles.default.tags = [ "server" ];
}
