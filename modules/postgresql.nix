# Each service's database. Per-service mode (the default): the service's own PostgreSQL server,
# as its own unit and identity, with its data under the state folder, its own port, and pg_hba
# letting in only its role (over TCP, with its password) and the server's own superuser (over a
# socket only that identity can reach). Shared mode: one role and database per service in the
# system `services.postgresql`, whose pg_hba lines (first match wins) let only that role open it.
# Either way the role, database and password are applied by psql as the superuser (provisionSql).
{ config, lib, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  hardening = import ./hardening.nix;
  inherit (stackrLib) dbName sqlIdent;
  names = lib.attrNames cfg.services;
  psql = "psql -X -q -v ON_ERROR_STOP=1 -d postgres";

  ownServer = name:
    let
      svc = cfg.services.${name};
      user = stackrLib.postgresUser name;
      unit = stackrLib.postgresUnitName name;
      dataDir = "${cfg.stateDir}/postgresql/${name}";
      socketDir = "/run/${unit}";
      id = sqlIdent (dbName name);
    in
    {
      description = "PostgreSQL of stackr service ${name}";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      # The server reads PGDATA/PGPORT; psql below reads PGHOST/PGPORT/PGUSER.
      environment = {
        PGDATA = dataDir;
        PGPORT = toString svc.postgres.port;
        PGHOST = socketDir;
        PGUSER = "postgres";
      };
      path = [ cfg.postgresql.package ];
      # The rules are rewritten at every start, so they always match this configuration.
      preStart = ''
        if [ ! -e "$PGDATA/PG_VERSION" ]; then
          initdb --username=postgres --encoding=UTF8 --no-locale --auth=reject
        fi
        cat > "$PGDATA/pg_hba.conf" <<'HBA'
        local all postgres peer map=superuser
        host ${id} ${id} 127.0.0.1/32 scram-sha-256
        HBA
        echo 'superuser ${user} postgres' > "$PGDATA/pg_ident.conf"
      '';
      postStart = ''
        ${psql} <<'SQL'
        ${stackrLib.provisionSql name}
        SQL
      '';
      serviceConfig = hardening.process // hardening.localhostOnly // {
        Type = "notify";
        User = user;
        Group = user;
        ExecStart = "${cfg.postgresql.package}/bin/postgres -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socketDir} -c password_encryption=scram-sha-256 -c jit=off";
        StateDirectory = "${stackrLib.stateSubdir cfg}/postgresql/${name}";
        StateDirectoryMode = "0700";
        RuntimeDirectory = unit;
        RuntimeDirectoryMode = "0700";
        LoadCredential = [ "db-password:${svc.postgres.passwordFile}" ];
        # Fast shutdown, with time to finish it.
        KillSignal = "SIGINT";
        KillMode = "mixed";
        TimeoutSec = 120;
        Restart = "on-failure";
      };
    };

  sharedDatabase = name:
    let svc = cfg.services.${name}; in
    {
      description = "Role and database of stackr service ${name} in the system PostgreSQL";
      wantedBy = [ "multi-user.target" ];
      after = [ "postgresql.service" ];
      requires = [ "postgresql.service" ];
      environment.PGPORT = toString config.services.postgresql.settings.port;
      path = [ config.services.postgresql.package ];
      script = ''
        ${psql} <<'SQL'
        ${stackrLib.provisionSql name}
        SQL
      '';
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "postgres";
        LoadCredential = [ "db-password:${svc.postgres.passwordFile}" ];
      };
    };
in
{
  config = lib.mkIf (cfg.enable && names != [ ]) (lib.mkMerge [
    (lib.mkIf (stackrLib.perService cfg) {
      systemd.services = lib.listToAttrs (map (name: lib.nameValuePair (stackrLib.postgresUnitName name) (ownServer name)) names);
      users.users = lib.listToAttrs (map
        (name: lib.nameValuePair (stackrLib.postgresUser name) {
          isSystemUser = true;
          group = stackrLib.postgresUser name;
          description = "PostgreSQL server of stackr service ${name}";
        })
        names);
      users.groups = lib.listToAttrs (map (name: lib.nameValuePair (stackrLib.postgresUser name) { }) names);
    })
    (lib.mkIf (!stackrLib.perService cfg) {
      services.postgresql = {
        enable = true;
        # Placed before the module's defaults (mkAfter), and pg_hba stops at the first match.
        authentication = lib.concatMapStrings
          (name:
            let id = sqlIdent (dbName name); in ''
              local ${id} postgres peer
              host ${id} ${id} 127.0.0.1/32 scram-sha-256
              host ${id} ${id} ::1/128 scram-sha-256
              local ${id} all reject
              host ${id} all all reject
            '')
          names;
      };
      systemd.services = lib.listToAttrs (map (name: lib.nameValuePair (stackrLib.sharedDbUnitName name) (sharedDatabase name)) names);
    })
  ]);
}
