# Three machines; web and mail import a module of their own, db's is written here.
let
  redisPort = 6379;
in
{
  clan.inventory.machines = {
    web = {
      tags = [ "edge" ];
      deploy.targetHost = "root@web.example.org";
    };
    db.deploy.targetHost = "root@db.example.org";
    mail.deploy.targetHost = "root@mail.example.org";
  };

  clan.machines = {
    web.imports = [
      ../../nixos/common.nix
      ../../nixos/web.nix
    ];
    db = {
      imports = [ ../../nixos/common.nix ];
      services.redis.servers.main.port = redisPort;
    };
    mail.imports = [
      ../../nixos/common.nix
      ../../nixos/mail.nix
    ];
  };
}
