{
  clan.inventory.instances.site = {
    module = {
      name = "static-site";
      input = "self";
    };

    roles.server.machines.press.settings = {
      domain = "www.example.org";
      port = 8443;
    };
    roles.server.machines.proof.settings.domain = "staging.example.org";

    roles.client.machines.proof.settings.interval = "*:0/15";
  };

  clan.inventory.instances.sshd = {
    roles.server.tags.web = { };
  };
}
