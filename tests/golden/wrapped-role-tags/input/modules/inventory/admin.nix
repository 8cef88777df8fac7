{ lib, ... }:
{
  clan.inventory.instances.admin = {
    # the list form under mkMerge: `servers` is a typo of `server` (C005)
    roles.default.tags = lib.mkMerge [
      [ "server" ]
      [ "servers" ]
    ];
    roles.default.settings.allowedKeys.ada =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPq3c1qJ8vXy0sKqkN2m5R7tHcW4dZ6eB9uLf0aGiYwT ada@mbp";
  };
}
