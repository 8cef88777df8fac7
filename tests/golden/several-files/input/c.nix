{ ok = true; }
