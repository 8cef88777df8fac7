{ inputs, ... }:
{
  imports = [
    inputs.clan-core.flakeModules.default
  ];

  systems = [
    "x86_64-linux"
    "aarch64-darwin"
  ];
}
