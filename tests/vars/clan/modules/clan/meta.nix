{
  clan.meta.name = "varstest";
}
