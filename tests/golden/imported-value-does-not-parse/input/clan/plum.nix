{
  description = "Work MacBook"
  machineClass = "darwin";
  deploy.targetHost = "tess@plum.local";
}
