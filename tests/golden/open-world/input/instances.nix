{
  admin.roles.default.tags = [ "server" ];
}
