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
      tags = [ "laptop" "vpn" ];
      deploy.targetHost = "ada@mbp.local";
    };
  };
}
