{ file = "default.nix"; }
