{
  clan.inventory.machines.web = {
    description = "Web server";
    deploy.targetHost = "root@web.example.org";
  };
}
