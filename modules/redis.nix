# One Redis per service: `services.redis.servers.<name>`, bound to localhost, password from a file.
{ config, lib, ... }:
let
  cfg = config.stackr;
in
{
  config = lib.mkIf cfg.enable {
    services.redis.servers = lib.mapAttrs
      (name: svc: {
        enable = true;
        port = svc.redis.port;
        bind = "127.0.0.1";
        requirePassFile = svc.redis.passwordFile;
      })
      cfg.services;
  };
}
