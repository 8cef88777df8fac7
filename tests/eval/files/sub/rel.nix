let data = builtins.readFile ./data.txt; in { inherit data; here = toString ./.; up = import ../simple.nix; }
