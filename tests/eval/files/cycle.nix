import ./cycle.nix
