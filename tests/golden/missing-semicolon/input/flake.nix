{
  outputs = { self, ... }: {
    clan = {
      meta.name = "demo"
      inventory = { };
    };
  };
}
