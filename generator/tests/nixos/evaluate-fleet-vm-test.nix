# Evaluates the generated fleet VM test (`vmTest` of nix/fleet.nix) as nixpkgs' runNixOSTest
# takes it: each node's module with the module library, nixpkgs' real module system and the
# test framework's options (./vm-test-options.nix), and the test script given those nodes.
{ lib, modules, project }:
let
  pkgs = import ./stub-pkgs.nix // {
    testers.runNixOSTest = test: test;
    # The machine's own openssl, so that a stand-in test driver can run the script's secrets.
    openssl = { type = "derivation"; name = "openssl"; outPath = "/usr"; };
  };
  packagesFor = pkgs: import (project + "/nix/packages.nix") { inherit (pkgs) craneLib; src = "/src"; };
  test = (import (project + "/nix/fleet.nix") { inherit packagesFor; }).vmTest {
    inherit pkgs;
    stackrModules = { default = modules; };
  };
  nodes = lib.mapAttrs
    (_: node: lib.evalModules {
      modules = [ { _module.args.pkgs = pkgs; } ./nixpkgs-options.nix ./nixpkgs-units.nix ./vm-test-options.nix node ];
    })
    test.nodes;
in
{
  inherit (test) name;
  nodes = lib.mapAttrs
    (_: node: {
      inherit (node.config.networking) interfaces extraHosts hosts;
      inherit (node.config.virtualisation) memorySize sharedDirectories fileSystems;
      inherit (node.config.stackr) secretsDir;
      inherit (node.config.stackr.fleet) keyFiles processUnits;
      failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) node.config.assertions);
    })
    nodes;
  testScript = test.testScript { inherit nodes; };
}
