{ lib, ... }:
let
  # sections of nixpkgs' lib that clanc models only partly
  ext = lib.fixedPoints.composeManyExtensions [ ];
in
{
  flake.overlays.default = ext;
}
