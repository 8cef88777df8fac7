{ inputs, ... }:
{
  clan.inventory.machines = {
    beacon = {
      description = "VPS with a public address, wireguard hub";
      tags = [ "server" ];
      deploy.targetHost = "root@beacon.example.org";
    };

    studio = {
      description = "Workstation";
      deploy.targetHost = "root@studio.local";
    };

    mbp = {
      description = "Laptop";
      machineClass = "darwin";
      # an input clanc does not fetch: this tag is unknown, and may be `vpn`
      tags = [ "laptop" inputs.nixpkgs.lib.vpnTag ];
      deploy.targetHost = "ada@mbp.local";
    };
  };
}
