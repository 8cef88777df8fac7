{
  flake.modules.darwin."machines/darwin/stibnite" = { ... }: {
    networking.hostName = = "stibnite";
  };
}
