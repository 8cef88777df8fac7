{ imports = [ ./def-a.nix ]; a = [ "from imports-def-a.nix" ]; }
