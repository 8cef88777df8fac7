{ this is not nix
