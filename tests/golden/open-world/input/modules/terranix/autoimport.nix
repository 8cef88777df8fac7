{ inputs, lib, ... }:
{
  # import-tree has more than clanc's model of it
  imports = [ ((inputs.import-tree.filter (lib.hasSuffix "terranix.nix")) ../../machines) ];
}
