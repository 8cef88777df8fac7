# A clan service offered by this flake: instances use it with
# module = { name = "static-site"; input = "self"; }.
{
  clan.modules.static-site = {
    _class = "clan.service";
    manifest.name = "static-site";
    manifest.description = "Serves a static site with nginx, with a health-check client";
    manifest.categories = [ "Web" ];
    manifest.constraints.roles.server.maxMachines = 2;

    roles.server = {
      description = "Runs nginx for the site";
      interface =
        { lib, ... }:
        {
          options.port = lib.mkOption {
            type = lib.types.port;
            default = 8080;
            description = "Port nginx listens on";
          };
          options.domain = lib.mkOption {
            type = lib.types.str;
            description = "Public name of the site";
          };
          options.root = lib.mkOption {
            type = lib.types.str;
            default = "/var/www/site";
          };
        };
      perInstance =
        { settings, ... }:
        {
          nixosModule =
            { ... }:
            {
              services.nginx.enable = true;
              services.nginx.virtualHosts.${settings.domain} = {
                inherit (settings) root;
                listen = [
                  {
                    addr = "0.0.0.0";
                    port = settings.port;
                  }
                ];
              };
              networking.firewall.allowedTCPPorts = [ settings.port ];
            };
        };
    };

    roles.client = {
      description = "Checks every five minutes that the site answers";
      interface =
        { lib, ... }:
        {
          options.interval = lib.mkOption {
            type = lib.types.str;
            default = "*:0/5";
          };
        };
      perInstance =
        { settings, roles, ... }:
        {
          nixosModule =
            { pkgs, ... }:
            {
              systemd.services.site-check = {
                startAt = settings.interval;
                script = ''
                  ${pkgs.curl}/bin/curl -fsS ${
                    toString (map (m: "http://${m}") (builtins.attrNames roles.server.machines))
                  } > /dev/null
                '';
              };
            };
        };
    };
  };
}
