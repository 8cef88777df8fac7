{
  clan.meta.name = "lighthouse";
}
