{
  users.cameron.description = "Cámeron ✓ Ωmega"; home = ;
}
