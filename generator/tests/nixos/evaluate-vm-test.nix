# Evaluates the generated single-host VM test (nix/vm-test.nix) as nixpkgs' runNixOSTest takes
# it: the machine's module (the stack module: stackr's module library and the project's
# nix/stackr.nix) with nixpkgs' real module system and the test framework's options
# (./vm-test-options.nix), and the test script given that node.
{ lib, modules, project }:
let
  pkgs = import ./stub-pkgs.nix // { testers.runNixOSTest = test: test; };
  packagesFor = pkgs: import (project + "/nix/packages.nix") { inherit (pkgs) craneLib; src = "/src"; };
  test = import (project + "/nix/vm-test.nix") {
    inherit pkgs;
    module = { imports = [ modules (import (project + "/nix/stackr.nix") { inherit packagesFor; }) ]; };
  };
  nodes = lib.mapAttrs
    (_: node: lib.evalModules {
      modules = [ { _module.args.pkgs = pkgs; } ./nixpkgs-options.nix ./nixpkgs-units.nix ./vm-test-options.nix node ];
    })
    test.nodes;
in
{
  inherit (test) name;
  testScript = test.testScript { inherit nodes; };
}
