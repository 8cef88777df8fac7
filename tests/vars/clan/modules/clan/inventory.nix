{
  clan.inventory.machines = {
    alpha.deploy.targetHost = "root@alpha.example.org";
    beta.deploy.targetHost = "root@beta.example.org";
    gamma.deploy.targetHost = "root@gamma.example.org";
    delta.deploy.targetHost = "root@delta.example.org";
    epsilon.deploy.targetHost = "root@epsilon.example.org";
  };
}
