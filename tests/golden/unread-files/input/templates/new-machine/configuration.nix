{
  # a template: `clan templates apply` fills the placeholder in
  clan.machines.__MACHINE__ = {
    networking.hostName = "__MACHINE__";
  };
