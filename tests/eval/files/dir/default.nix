{ fromDir = true; sibling = import ../simple.nix; }
