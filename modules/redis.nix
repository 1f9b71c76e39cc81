# One Redis per service: `services.redis.servers.<name>`, bound to localhost, password from a file,
# with the append-only file on so that queued jobs survive a crash (snapshots alone lose the
# writes since the last one).
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
        appendOnly = true;
      })
      cfg.services;
  };
}
