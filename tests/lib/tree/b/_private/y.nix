{ file = "b/_private/y.nix"; }
