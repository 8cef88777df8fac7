builtins.trace "imported" { value = 42; }
