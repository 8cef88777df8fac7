{
  clan.meta.name = "beacon";
  clan.inventory.machines.beacon.deploy.targetHost = "root@beacon.example.org";
}
