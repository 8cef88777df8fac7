{ a = [ "from def-a.nix" ]; }
