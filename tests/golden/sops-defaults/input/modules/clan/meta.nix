{
  clan.meta.name = "harbor";
}
