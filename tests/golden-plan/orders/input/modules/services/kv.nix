# A replicated key-value store offered by this flake: its roles have no conventional names,
# so clanc.toml orders them (leader before follower).
{
  clan.modules.kv = {
    _class = "clan.service";
    manifest.name = "kv";
    roles.leader.perInstance = { ... }: { nixosModule = { ... }: { }; };
    roles.follower.perInstance = { ... }: { nixosModule = { ... }: { }; };
  };
}
