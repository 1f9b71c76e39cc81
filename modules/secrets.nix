# Optional boot-time creation of missing secret files (stackr.secrets.generate), for VM tests
# and demos. Each file gets 48 random [A-Za-z0-9] characters, mode 0600, root-owned; units read
# them through LoadCredential, so no service user needs access.
{ config, lib, pkgs, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  services = lib.attrValues cfg.services;
  files = lib.unique (
    lib.optional (stackrLib.authOf cfg.services != null) cfg.auth.secretFile
    ++ lib.concatMap
      (s: [ s.postgres.passwordFile s.redis.passwordFile ] ++ lib.optional (s.kind == "base") s.credentialFile)
      services
  );
  consumers = [ "postgresql.service" ]
    ++ map (name: stackrLib.redisUnit name) (lib.attrNames cfg.services)
    ++ lib.concatLists (lib.mapAttrsToList
      (name: svc: [ "stackr-${name}-api.service" "stackr-${name}-db-password.service" ]
        ++ lib.optional svc.worker.enable "stackr-${name}-worker.service")
      cfg.services);
in
{
  config = lib.mkIf (cfg.enable && cfg.secrets.generate) {
    systemd.services.stackr-secrets = {
      description = "Create missing stackr secret files";
      wantedBy = [ "multi-user.target" ];
      before = consumers;
      requiredBy = consumers;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
      };
      path = [ pkgs.coreutils ];
      script = lib.concatMapStringsSep "\n"
        (file: ''
          if [ ! -s ${lib.escapeShellArg file} ]; then
            mkdir -p "$(dirname ${lib.escapeShellArg file})"
            tr -dc 'A-Za-z0-9' </dev/urandom | head -c 48 > ${lib.escapeShellArg file} || true
          fi
        '')
        files;
    };
  };
}
