# stackr's NixOS module library: options `stackr.*` and everything they imply. Generated projects
# import this and only set values (see the generated nix/stackr.nix).
{
  imports = [
    ./options.nix
    ./secrets.nix
    ./postgresql.nix
    ./redis.nix
    ./units.nix
    ./fleet.nix
    ./stale-keys.nix
  ];
}
