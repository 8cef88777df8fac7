{
  clan.inventory.machines.web = {
    description = "Web server";
    deploy.targetHost = "root@web.example.org";
  };
  clan.inventory.machines.db = {
    description = "Database server";
    deploy.targetHost = "root@db.example.org";
  };
}
