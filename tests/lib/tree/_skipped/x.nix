{ file = "_skipped/x.nix"; }
