{
  clan.modules.motd = {
    _class = "clan.service";
    manifest.name = "motd";
    roles.default = {
      interface =
        { lib, ... }:
        {
          options.text = lib.mkOption {
            type = lib.types.str;
            default = "welcome";
          };
        };
      perInstance =
        { settings, ... }:
        {
          nixosModule = {
            users.motd = settings.text;
          };
        };
    };
  };
}
