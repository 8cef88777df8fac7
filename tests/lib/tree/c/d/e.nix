{ file = "c/d/e.nix"; }
