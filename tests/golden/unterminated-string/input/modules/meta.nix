{
  clan.meta.name = "fleet;
  clan.meta.description = "x";
}
