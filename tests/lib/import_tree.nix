# import-tree (src/modules/known/import-tree.nix) on tests/lib/tree.
let
  lib = import ../../src/modules/known/lib.nix { };
  importTree = import ../../src/modules/known/import-tree.nix;
  root = toString ./tree;
  rel = p: lib.removePrefix root (toString p);
  m = importTree ./tree;
in
[
  {
    name = "import-tree imports every .nix file, depth first, skipping _ components";
    got = map rel m.imports;
    expected = [
      "/a/b.nix"
      "/a.nix"
      "/b/c.nix"
      "/c/d/e.nix"
      "/default.nix"
      "/link.nix"
    ];
  }
  {
    name = "import-tree gives paths";
    got = builtins.all builtins.isPath m.imports;
    expected = true;
  }
  {
    name = "import-tree is a module with only imports";
    got = builtins.attrNames m;
    expected = [ "imports" ];
  }
  {
    name = "import-tree is a functor";
    got = [
      (builtins.isAttrs importTree)
      (lib.isFunction importTree)
    ];
    expected = [
      true
      true
    ];
  }
  {
    name = "import-tree on a subdirectory";
    got = map rel (importTree ./tree/b).imports;
    expected = [ "/b/c.nix" ];
  }
  {
    name = "import-tree: imported files evaluate";
    got = map import m.imports;
    expected = [
      { file = "a/b.nix"; }
      { file = "a.nix"; }
      { file = "b/c.nix"; }
      { file = "c/d/e.nix"; }
      { file = "default.nix"; }
      { file = "a.nix"; }
    ];
  }
  {
    name = "lib.filesystem.listFilesRecursive lists every file";
    got = map rel (lib.filesystem.listFilesRecursive ./tree);
    expected = [
      "/_skipped/x.nix"
      "/a/b.nix"
      "/a.nix"
      "/b/_private/y.nix"
      "/b/_z.nix"
      "/b/c.nix"
      "/b/data.nixx"
      "/c/d/e.nix"
      "/default.nix"
      "/link.nix"
      "/notes.txt"
    ];
  }
  {
    name = "pathExists readFile";
    got = [
      (lib.pathExists ./tree/a.nix)
      (lib.pathExists ./tree/none.nix)
      (lib.readFile ./tree/notes.txt)
    ];
    expected = [
      true
      false
      "not nix\n"
    ];
  }
]
