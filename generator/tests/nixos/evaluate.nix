# Evaluates a stackr project as a NixOS host would, with nixpkgs' real module system: the NixOS
# option declarations stackr touches (./nixpkgs-options.nix), what nixpkgs' implementations add
# (./nixpkgs-units.nix), stackr's module library, the project's generated nix/stackr.nix and a
# host module. Returns what ./system-data.nix extracts for the property checks.
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
in
import ./system-data.nix { inherit lib pkgs; } system.config
