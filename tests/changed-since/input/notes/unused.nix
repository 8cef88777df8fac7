{ services.unused.enable = true; }
