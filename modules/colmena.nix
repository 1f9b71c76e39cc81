# colmena's `deployment` of a fleet host (import it only in a colmena hive: the options are
# colmena's): its address (`targetHost`), and as `keys` every secret file this host's units read,
# uploaded from the deploying machine's `stackr.fleet.keysSource` folder (filled by `stackr
# secrets`) to `stackr.secretsDir`, root-only.
# The units read them through LoadCredential, so no service needs access; nothing of them enters
# the Nix store (`keyCommand` reads the file when colmena uploads).
{ config, lib, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  inherit (cfg.fleet) keysSource thisHost;
  # This host's certificate and key are kept per host on the deploying machine.
  localFile = name:
    if lib.hasPrefix "tls-host." name then "${keysSource}/hosts/${thisHost}/${name}" else "${keysSource}/${name}";
in
{
  config = lib.mkIf (cfg.enable && stackrLib.inFleet cfg) {
    # Where colmena connects: the host's address as this configuration has it (the placement's,
    # or one every host's configuration gives instead), which the other hosts reach it at too.
    deployment.targetHost = lib.mkDefault cfg.fleet.hosts.${thisHost}.address;
    deployment.keys = lib.listToAttrs (map
      (name:
        lib.nameValuePair name {
          keyCommand = [ "cat" (localFile name) ];
          destDir = cfg.secretsDir;
          user = "root";
          group = "root";
          permissions = "0400";
        })
      cfg.fleet.keyFiles);
  };
}
