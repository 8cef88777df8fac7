{ lib, config, lib, ... }:
{
  options = { };
}
