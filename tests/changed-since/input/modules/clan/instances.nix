{
  clan.inventory.instances = {
    # Its peers know each other: mesh's perInstance reads the roles' members.
    mesh = {
      module = {
        name = "mesh";
        input = "self";
      };
      roles.peer.machines.web = { };
      roles.peer.machines.db = { };
    };
    # A message of the day per machine: motd's perInstance reads its own settings only.
    motd = {
      module = {
        name = "motd";
        input = "self";
      };
      roles.default.tags.edge = { };
      roles.default.machines.db.settings.text = "database";
    };
  };
}
