# Every ordering rule: zerotier controller -> moon -> peers, wireguard controller -> peers,
# certificates ca -> default, borgbackup/monitoring/ncps server -> clients, the flake's own
# services by role name (site: server -> client) and by clanc.toml (kv: leader -> follower).
# srv is a zerotier peer and ctl a borgbackup client: a cycle the network controller wins.
let
  nixos = {
    nixpkgs.hostPlatform = "x86_64-linux";
    boot.loader.grub.device = "/dev/vda";
    fileSystems."/".device = "/dev/vda1";
    system.stateVersion = "25.05";
  };
in
{
  clan.inventory.machines = {
    ctl = { deploy.targetHost = "root@ctl.example.org"; };
    moon1 = { deploy.targetHost = "root@moon1.example.org"; };
    ca1 = { deploy.targetHost = "root@ca1.example.org"; };
    srv = { tags = [ "peer" ]; deploy.targetHost = "root@srv.example.org"; deploy.buildHost = "root@ctl.example.org"; };
    web1 = { tags = [ "peer" "fleet" ]; deploy.targetHost = "admin@web1.example.org:2222"; };
    web2 = { tags = [ "peer" "fleet" ]; deploy.targetHost = "root@web2.example.org"; };
    db1 = { tags = [ "db" ]; deploy.targetHost = "root@db1.example.org"; };
    db2 = { tags = [ "db" ]; deploy.targetHost = "root@db2.example.org"; };
    lonely = { tags = [ "fleet" ]; };
  };

  clan.machines = {
    ctl = nixos;
    moon1 = nixos;
    ca1 = nixos;
    srv = nixos;
    web1 = nixos // {
      clan.core.vars.generators.seed = {
        share = true;
        files.seed = { };
        script = "head -c 32 /dev/urandom > $out/seed";
      };
      clan.core.vars.generators.api-key = {
        dependencies = [ "seed" ];
        files.key = { };
        script = "cat $in/seed/seed > $out/key";
      };
      clan.core.vars.generators.api-id = {
        dependencies = [ "api-key" ];
        files.id.secret = false;
        script = "sha256sum $in/api-key/key > $out/id";
      };
    };
    web2 = nixos;
    db1 = nixos;
    db2 = nixos;
    lonely = nixos;
  };

  clan.inventory.instances = {
    zerotier = {
      roles.controller.machines.ctl = { };
      roles.moon.machines.moon1 = { };
      roles.peer.tags.peer = { };
    };
    wireguard = {
      roles.controller.machines.ctl.settings.endpoint = "ctl.example.org";
      roles.peer.tags.fleet = { };
      roles.peer.settings.controller = "ctl";
    };
    certificates = {
      roles.ca.machines.ca1 = { };
      roles.default.tags.fleet = { };
    };
    borgbackup = {
      roles.server.machines.srv = { };
      roles.client.machines.ctl = { };
      roles.client.settings.destinations.main.repo = "borg@srv.example.org:/srv/borg";
    };
    monitoring = {
      roles.server.machines.srv = { };
      roles.client.tags.fleet = { };
    };
    ncps = {
      roles.server.machines.srv = { };
      roles.client.machines.db1 = { };
    };
    store = {
      module = {
        name = "kv";
        input = "self";
      };
      roles.leader.machines.db1 = { };
      roles.follower.tags.db = { };
    };
  };
}
