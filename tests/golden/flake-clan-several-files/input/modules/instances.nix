{
  flake.clan.inventory.instances.admin = {
    module.name = "admin";
    module.input = "clan-core";
    roles.default.tags.all = { };
  };
}
