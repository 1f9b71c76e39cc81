# The parts of an evaluated NixOS system (`config`) that the property checks read
# (tests/it/common/nixos.rs), as plain data for `nix-instantiate --eval --strict --json`.
{ lib, pkgs }:
config:
let
  enabledUnits = lib.filterAttrs (_: unit: unit.enable) config.systemd.services;
  unitFields = [ "description" "wantedBy" "requiredBy" "requires" "wants" "after" "before" "bindsTo" "partOf"
    "conflicts" "unitConfig" "environment" "path" "serviceConfig" "script" "preStart" "postStart" "stopIfChanged"
    "restartTriggers" "reloadTriggers" ];
in
{
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  inherit (config) warnings;
  units = lib.mapAttrs (_: unit: lib.getAttrs unitFields unit) enabledUnits;
  sockets = lib.mapAttrs (_: socket: lib.getAttrs [ "description" "wantedBy" "requiredBy" "before" "listenStreams" "socketConfig" ] socket)
    (lib.filterAttrs (_: socket: socket.enable) config.systemd.sockets);
  # Content of the store files the units name (scripts, configs), by path.
  storeFiles = lib.foldl' (files: unit: files // unit.storeFiles) { } (lib.attrValues enabledUnits);
  postgresql = lib.getAttrs [ "enable" "authentication" "settings" ] config.services.postgresql;
  redis = lib.mapAttrs (_: server: lib.getAttrs [ "enable" "port" "bind" "requirePass" "requirePassFile" "appendOnly" "openFirewall" "settings" "unixSocket" "group" ] server)
    config.services.redis.servers;
  firewall = config.networking.firewall.allowedTCPPorts;
  firewallCommands = config.networking.firewall.extraCommands;
  firewallInputRules = config.networking.firewall.extraInputRules;
  hosts = config.networking.hosts;
  inherit (config.networking) tempAddresses;
  nginx = {
    inherit (config.services.nginx) enable upstreams;
    virtualHosts = lib.mapAttrs
      (_: vhost: lib.getAttrs [ "listen" "onlySSL" "locations" ] vhost
        // lib.optionalAttrs vhost.onlySSL { inherit (vhost) sslCertificate sslCertificateKey; })
      config.services.nginx.virtualHosts;
  };
  packages = map (p: { inherit (p) name; text = p.text or ""; }) config.environment.systemPackages;
  users = lib.mapAttrs (_: user: lib.getAttrs [ "isSystemUser" "group" "home" ] user) config.users.users;
  inherit (config) stackr;
  # nixos/lib/systemd-lib.nix (`serviceConfig` of every unit): PATH is the unit's `path` plus these.
  defaultUnitPath = [ pkgs.coreutils pkgs.findutils pkgs.gnugrep pkgs.gnused pkgs.systemd ];
}
