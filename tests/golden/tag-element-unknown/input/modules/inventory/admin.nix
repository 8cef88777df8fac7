{ inputs, ... }:
{
  clan.inventory.instances.admin = {
    # the second tag is unknown: so are the machines this role resolves to
    roles.default.tags = [ "server" inputs.nixpkgs.lib.adminTag ];
    roles.default.settings.allowedKeys.ada =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPq3c1qJ8vXy0sKqkN2m5R7tHcW4dZ6eB9uLf0aGiYwT ada@mbp";
  };
}
