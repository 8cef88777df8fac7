{ flake.modules.homeManager.shell = { programs.zsh.enable = true; }; }
