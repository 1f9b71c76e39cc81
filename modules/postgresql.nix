# One shared system PostgreSQL; per service its own role and database, and pg_hba lines so that
# only that role can open that database (over TCP with its password) and every other role is
# rejected. The role's password is set from its file by a oneshot running as `postgres`.
{ config, lib, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  inherit (stackrLib) dbName;
  names = lib.attrNames cfg.services;
  # Newer nixpkgs applies ensureUsers/ensureDatabases in postgresql-setup.service, older ones in
  # postgresql.service itself; ordering after a unit that does not exist is a no-op.
  setupUnits = [ "postgresql.service" "postgresql-setup.service" ];
in
{
  config = lib.mkIf (cfg.enable && names != [ ]) {
    services.postgresql = {
      enable = true;
      settings.port = lib.mkDefault (lib.head (map (n: cfg.services.${n}.postgres.port) names));
      ensureDatabases = map dbName names;
      ensureUsers = map (name: { name = dbName name; ensureDBOwnership = true; }) names;
      # Evaluated before the module's defaults (mkAfter), and pg_hba stops at the first match.
      authentication = lib.concatMapStrings
        (name:
          let db = dbName name; in ''
            local ${db} postgres peer
            host ${db} ${db} 127.0.0.1/32 scram-sha-256
            host ${db} ${db} ::1/128 scram-sha-256
            local ${db} all reject
            host ${db} all all reject
          '')
        names;
    };

    systemd.services = lib.listToAttrs (map
      (name:
        let
          svc = cfg.services.${name};
          db = dbName name;
        in
        lib.nameValuePair "stackr-${name}-db-password" {
          description = "Set the PostgreSQL password of stackr service ${name}";
          wantedBy = [ "multi-user.target" ];
          after = setupUnits;
          requires = [ "postgresql.service" ];
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
            User = "postgres";
            LoadCredential = [ "password:${svc.postgres.passwordFile}" ];
          };
          path = [ config.services.postgresql.package ];
          # The password goes through psql's \set (never argv or the store).
          script = ''
            psql -X -v ON_ERROR_STOP=1 -p ${toString svc.postgres.port} -d postgres <<'SQL'
            \set password `cat "$CREDENTIALS_DIRECTORY/password"`
            ALTER ROLE ${db} WITH LOGIN PASSWORD :'password';
            REVOKE ALL ON DATABASE ${db} FROM PUBLIC;
            SQL
          '';
        })
      names);
  };
}
