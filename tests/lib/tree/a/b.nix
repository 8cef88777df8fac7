{ file = "a/b.nix"; }
