# Tags are computed, not listed on each machine. They may use the built-in
# tags (config.all, config.nixos, config.darwin) and any machine attribute
# except machines.<m>.tags, which is itself computed from this function.
{ lib, ... }:
{
  clan.inventory.tags =
    { config, machines, ... }:
    {
      # machines with a public name get the monitoring server's attention
      public = builtins.attrNames (
        lib.filterAttrs (
          _name: machine:
          machine.deploy.targetHost != null && lib.hasSuffix ".example.org" machine.deploy.targetHost
        ) machines
      );

      # everything at home: not public, and NixOS
      home = builtins.filter (name: !(lib.hasSuffix ".example.org" machines.${name}.deploy.targetHost)) config.nixos;

      # the first VPS (alphabetically) runs the monitoring server
      monitor = [
        (builtins.head (
          builtins.filter (name: lib.hasSuffix ".example.org" machines.${name}.deploy.targetHost) config.nixos
        ))
      ];
    };
}
