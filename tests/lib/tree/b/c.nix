{ file = "b/c.nix"; }
