{ a, b ? a + 1, ... }@args: { inherit a b; n = builtins.length (builtins.attrNames args); }
