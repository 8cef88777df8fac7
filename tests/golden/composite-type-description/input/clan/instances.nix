{
  clan.inventory.instances = {
    monitoring = {
      roles.server.tags.monitor = { };
      roles.server.settings.grafana.enable = true;
      roles.client.tags = [
        "public"
        "home"
      ];
    };

    sshd.roles = [ "server" ];

    garden-sensors = {
      module.name = "packages";
      roles.default.tags.home = { };
      roles.default.settings.packages = [
        "mosquitto"
        "python3Packages.paho-mqtt"
      ];
    };
  };
}
