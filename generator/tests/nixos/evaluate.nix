# Evaluates a stackr project as a NixOS host would, with nixpkgs' real module system: the NixOS
# option declarations stackr touches (./nixpkgs-options.nix), what nixpkgs' implementations add
# (./nixpkgs-units.nix), stackr's module library, the project's generated nix/stackr.nix and a
# host module. Returns the parts of the system the property checks read
# (tests/common/nixos_properties.rs), as plain data for `nix-instantiate --eval --strict --json`.
{ lib, modules, project, host ? { } }:
let
  pkgs = import ./stub-pkgs.nix;
  packagesFor = pkgs: import (project + "/nix/packages.nix") { inherit (pkgs) craneLib; src = "/src"; };
  system = lib.evalModules {
    modules = [
      { _module.args.pkgs = pkgs; }
      ./nixpkgs-options.nix
      ./nixpkgs-units.nix
      modules
      (import (project + "/nix/stackr.nix") { inherit packagesFor; })
      host
    ];
  };
  config = system.config;
  enabledUnits = lib.filterAttrs (_: unit: unit.enable) config.systemd.services;
  unitFields = [ "description" "wantedBy" "requiredBy" "requires" "wants" "after" "before" "bindsTo" "partOf"
    "environment" "path" "serviceConfig" "script" "preStart" "postStart" ];
in
{
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  inherit (config) warnings;
  units = lib.mapAttrs (_: unit: lib.getAttrs unitFields unit) enabledUnits;
  # Content of the store files the units name (scripts, configs), by path.
  storeFiles = lib.foldl' (files: unit: files // unit.storeFiles) { } (lib.attrValues enabledUnits);
  postgresql = lib.getAttrs [ "enable" "authentication" "settings" ] config.services.postgresql;
  redis = lib.mapAttrs (_: server: lib.getAttrs [ "enable" "port" "bind" "requirePass" "requirePassFile" "appendOnly" "openFirewall" ] server)
    config.services.redis.servers;
  firewall = config.networking.firewall.allowedTCPPorts;
  packages = map (p: { inherit (p) name; text = p.text or ""; }) config.environment.systemPackages;
  users = lib.mapAttrs (_: user: lib.getAttrs [ "isSystemUser" "group" "home" ] user) config.users.users;
  inherit (config) stackr;
  # nixos/lib/systemd-lib.nix (`serviceConfig` of every unit): PATH is the unit's `path` plus these.
  defaultUnitPath = [ pkgs.coreutils pkgs.findutils pkgs.gnugrep pkgs.gnused pkgs.systemd ];
}
