# The options nixpkgs' test framework and VM modules give a test node (nixos/lib/testing,
# nixos/modules/virtualisation/qemu-vm.nix, nixos/modules/tasks/network-interfaces.nix) that the
# generated fleet VM test sets: memory, shared folders, their file systems, interface addresses
# and routes, extra /etc/hosts lines.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  addressOptions = types.submodule {
    options = {
      address = mkOption { type = types.str; };
      prefixLength = mkOption { type = types.int; };
    };
  };
in
{
  options = {
    virtualisation.memorySize = mkOption { type = types.int; default = 1024; };
    virtualisation.sharedDirectories = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          source = mkOption { type = types.str; };
          target = mkOption { type = types.str; };
        };
      });
      default = { };
    };
    virtualisation.fileSystems = mkOption {
      type = types.attrsOf (types.submodule {
        options.neededForBoot = mkOption { type = types.bool; default = false; };
      });
      default = { };
    };
    networking.interfaces = mkOption {
      type = types.attrsOf (types.submodule {
        options.ipv4 = {
          addresses = mkOption { type = types.listOf addressOptions; default = [ ]; };
          routes = mkOption { type = types.listOf addressOptions; default = [ ]; };
        };
      });
      default = { };
    };
    networking.extraHosts = mkOption { type = types.lines; default = ""; };
  };
  # What the test framework itself gives every node (nixos/lib/testing/network.nix): an address
  # on the test network, and every node's name in /etc/hosts.
  config = {
    networking.interfaces.eth1.ipv4.addresses = [ { address = "192.168.1.1"; prefixLength = 24; } ];
    networking.extraHosts = "192.168.1.1 node\n";
  };
}
