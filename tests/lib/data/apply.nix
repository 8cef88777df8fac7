{ greeting }: { config, ... }: { config.message = greeting; }
