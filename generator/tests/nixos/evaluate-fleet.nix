# Evaluates every host of a stackr project placed on several hosts through the flake outputs its
# generated nix/fleet.nix gives (`flakeOutputs`), with nixpkgs' real module system: each
# `nixosConfigurations.<host>` as ./evaluate.nix evaluates a single host, and each node of the
# `colmenaHive` with colmena's `deployment` options (./colmena-options.nix). nixpkgs'
# `nixosSystem` and colmena's `makeHive` are stood in for by the module system itself; the host's
# own configuration (hardware, boot) is `host` (a module), the same on every host.
{ lib, modules, project, host ? { } }:
let
  pkgs = import ./stub-pkgs.nix;
  packagesFor = pkgs: import (project + "/nix/packages.nix") { inherit (pkgs) craneLib; src = "/src"; };
  nixosModules = [ { _module.args.pkgs = pkgs; } ./nixpkgs-options.nix ./nixpkgs-units.nix ];
  outputs = (import (project + "/nix/fleet.nix") { inherit packagesFor; }).flakeOutputs {
    nixpkgs.lib.nixosSystem = args: lib.evalModules { modules = nixosModules ++ args.modules; };
    colmena.lib.makeHive = hive: hive;
    system = "x86_64-linux";
    stackrModules = { default = modules; colmena = modules + "/colmena.nix"; };
    hostModule = _: host;
  };
  hive = removeAttrs outputs.colmenaHive [ "meta" ];
  node = name: (lib.evalModules {
    modules = nixosModules ++ [ ./colmena-options.nix ] ++ hive.${name}.imports ++ [ { inherit (hive.${name}) deployment; } ];
  }).config.deployment;
in
lib.mapAttrs
  (name: system: import ./system-data.nix { inherit lib pkgs; } system.config // {
    deployment = let d = node name; in {
      inherit (d) targetHost tags;
      keys = lib.mapAttrs (_: key: lib.getAttrs [ "keyCommand" "keyFile" "text" "destDir" "path" "user" "group" "permissions" "uploadAt" ] key) d.keys;
    };
  })
  outputs.nixosConfigurations
