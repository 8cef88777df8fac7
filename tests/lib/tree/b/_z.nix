{ file = "b/_z.nix"; }
