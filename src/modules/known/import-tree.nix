# clanc's model of the import-tree flake (`inputs.import-tree ./modules`): a module importing
# every `.nix` file below a directory, recursively, leaving out every path with a component
# (below the directory) that starts with `_`. Files come in the order of nixpkgs'
# `lib.filesystem.listFilesRecursive`: each directory's entries sorted by name, depth first.
# Symlinks (and entries of unknown type) count as files.
let
  b = builtins;
  walk =
    dir:
    let
      entries = b.readDir dir;
    in
    b.concatMap (
      name:
      let
        type = entries.${name};
        path = dir + "/${name}";
      in
      if b.substring 0 1 name == "_" then
        [ ]
      else if type == "directory" then
        walk path
      else if b.match ".*\\.nix" name != null then
        [ path ]
      else
        [ ]
    ) (b.attrNames entries);
in
{
  __functor = _: dir: { imports = walk dir; };
  # import-tree has more (`filter`, `match`, `map`, `addPath`, `withLib`, ...): what this model
  # lacks is unknown to clanc, never missing.
  __clancOpen = "the import-tree flake";
}
