{
  # café in Latin-1
  outputs = _: { };
}
