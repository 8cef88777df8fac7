{ file = "a.nix"; }
