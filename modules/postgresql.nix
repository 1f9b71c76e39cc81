# Each service's database. Per-service mode (the default): the service's own PostgreSQL server,
# as its own unit and identity, with its data under the state folder, its own port, and pg_hba
# letting in only its role (with its password) and the server's own superuser (as that
# identity). Its socket's folder only the server's group enters, which the service's units on
# this host join; it listens on TCP only for other hosts (TLS), so no loopback port is left for
# another local user to take while it is down. Shared mode: one role and database per service in
# the system `services.postgresql`, whose pg_hba lines (first match wins) let only that role open
# it and refuse that role every other database.
# Either way the oneshot `stackr-<name>-db` applies the role, database and password with psql as
# the superuser once the server is ready (provisionScript).
{ config, lib, pkgs, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  hardening = import ./hardening.nix;
  inherit (stackrLib) dbName sqlIdent cidr;
  # The services whose database lives on this host.
  names = lib.filter (name: stackrLib.runsHere cfg name "postgres") (lib.attrNames cfg.services);

  # In a fleet: the addresses of the other hosts running the service's API or worker. They log in
  # over TLS only (hostssl), as the service's role only, with its password.
  remoteClients = stackrLib.remoteClients cfg;
  # The programs of the server holding the services' databases (their own, or the system one in
  # shared mode), and the identity its superuser is reached as: the server's own, which pg_ident
  # maps to it, or the system server's `postgres` (peer authentication).
  serverPackage = if stackrLib.perService cfg then cfg.postgresql.package else config.services.postgresql.package;
  superuserIdentity = name: if stackrLib.perService cfg then stackrLib.postgresUser name else "postgres";
  # The credentials of a service's server (its TLS certificate, when other hosts connect) and of
  # its `-db` unit, listed again in stackr.fleet.credentialSources.
  serverCredentials = name: lib.optionals (remoteClients name != [ ]) [ "tls-host.crt:${cfg.fleet.tls.certFile}" "tls-host.key:${cfg.fleet.tls.keyFile}" ];
  databaseCredentials = name: [ "db-password:${cfg.services.${name}.postgres.passwordFile}" ];

  ownServer = name:
    let
      svc = cfg.services.${name};
      user = stackrLib.postgresUser name;
      unit = stackrLib.postgresUnitName name;
      dataDir = "${cfg.stateDir}/postgresql/${name}";
      socketDir = stackrLib.postgresSocketDir cfg name;
      id = sqlIdent (dbName name);
      clients = remoteClients name;
      tls = clients != [ ];
      # Empty: no TCP listener at all.
      listen = lib.optionalString tls cfg.fleet.hosts.${cfg.fleet.thisHost}.address;
      tlsFlags = lib.optionalString tls " -c ssl=on -c ssl_cert_file=%d/tls-host.crt -c ssl_key_file=%d/tls-host.key -c ssl_min_protocol_version=TLSv1.2";
    in
    # A server that cannot start for a while is tried again until it starts, backing off to
    # 5 min apart; a lasting refusal (a data folder of another major version) says why once per
    # 5 min.
    lib.recursiveUpdate (stackrLib.retriedUntilStarted 300) {
      description = "PostgreSQL of stackr service ${name}";
      wantedBy = [ "multi-user.target" ];
      # Listening on the host's address: after a reboot it may not be there yet at
      # network.target, and PostgreSQL would only warn and serve loopback alone.
      wants = lib.optional tls "network-online.target";
      after = [ "network.target" ] ++ lib.optional tls "network-online.target";
      # The server reads PGDATA/PGPORT.
      environment = {
        PGDATA = dataDir;
        PGPORT = toString svc.postgres.port;
      };
      path = [ cfg.postgresql.package ];
      # A data folder another major version made (stackr.postgresql.package moved, or its
      # default with system.stateVersion) stops the start here, naming the folder and what to
      # do, rather than with PostgreSQL's own error. The server's major version is the
      # package's own (`postgres --version`; 9.6, then 10 and later by their first number).
      # The rules are rewritten at every start, so they always match this configuration.
      preStart = ''
        if [ -e "$PGDATA/PG_VERSION" ]; then
          made_by=$(cat "$PGDATA/PG_VERSION")
          server=$(postgres --version)
          server=''${server#*) }
          server=''${server%%[!0-9.]*}
          case $server in 9.*) major=''${server%.*} ;; *) major=''${server%%.*} ;; esac
          if [ "$made_by" != "$major" ]; then
            echo "stackr: the data folder $PGDATA of ${name}'s PostgreSQL was made by PostgreSQL $made_by, and stackr.postgresql.package is PostgreSQL $major, which cannot open it. Upgrade the folder to $major with pg_upgrade (server stopped, as user ${user}), or set stackr.postgresql.package back to a PostgreSQL $made_by." >&2
            exit 1
          fi
        fi
        if [ ! -e "$PGDATA/PG_VERSION" ]; then
          initdb --username=postgres --encoding=UTF8 --no-locale --auth=reject
        fi
        cat > "$PGDATA/pg_hba.conf" <<'HBA'
        local all postgres peer map=superuser
        local ${id} ${id} scram-sha-256
        ${lib.concatMapStrings (a: "hostssl ${id} ${id} ${cidr a} scram-sha-256\n") clients}HBA
        echo 'superuser ${user} postgres' > "$PGDATA/pg_ident.conf"
      '';
      serviceConfig = hardening.process // hardening.localhostOnly // {
        Type = "notify";
        User = user;
        Group = user;
        ExecStart = "${cfg.postgresql.package}/bin/postgres -c listen_addresses=${listen} -c unix_socket_directories=${socketDir} -c password_encryption=scram-sha-256 -c jit=off${tlsFlags}";
        StateDirectory = "${stackrLib.stateSubdir cfg}/postgresql/${name}";
        StateDirectoryMode = "0700";
        RuntimeDirectory = unit;
        # The server's group: itself and the service's units on this host.
        RuntimeDirectoryMode = "0750";
        # Fast shutdown, with time to finish it. Defaults, as the sandbox's are: a host may give
        # a large database longer (`TimeoutSec`) without a conflict.
        KillSignal = lib.mkDefault "SIGINT";
        KillMode = lib.mkDefault "mixed";
        TimeoutSec = lib.mkDefault 120;
      } // lib.optionalAttrs tls {
        IPAddressAllow = stackrLib.storePeers cfg name;
        LoadCredential = serverCredentials name;
      };
    };

  # The oneshot that applies the role, database and password once the server is ready, as the
  # server's superuser over its Unix socket.
  database = name:
    let
      svc = cfg.services.${name};
      perService = stackrLib.perService cfg;
      server = if perService then "${stackrLib.postgresUnitName name}.service" else "postgresql.service";
      user = stackrLib.postgresUser name;
    in
    # psql fails while the server is down; tried again at most 30 s apart, so that the role is
    # applied soon after the server is back.
    lib.recursiveUpdate (stackrLib.retriedUntilStarted 30) {
      description = "Role and database of stackr service ${name} in ${if perService then "its" else "the system"} PostgreSQL";
      wantedBy = [ "multi-user.target" ];
      # Wanted, not required: a failed start of a required server would fail this unit's start
      # for good, even once the server starts on a later try.
      after = [ server ];
      wants = [ server ];
      # psql reads PGHOST/PGPORT/PGUSER.
      environment = if perService then {
        PGHOST = stackrLib.postgresSocketDir cfg name;
        PGPORT = toString svc.postgres.port;
        PGUSER = "postgres";
      } else {
        PGPORT = toString config.services.postgresql.settings.port;
      };
      path = [ serverPackage ];
      script = stackrLib.provisionScript name;
      # Sandboxed in either mode: in shared mode it runs as the system server's superuser
      # identity, which can do anything to every database of the host.
      serviceConfig = hardening.process // hardening.localhostOnly // {
        Type = "oneshot";
        RemainAfterExit = true;
        User = superuserIdentity name;
        LoadCredential = databaseCredentials name;
      } // lib.optionalAttrs perService { Group = user; };
    };
  # `stackr-postgres SERVICE PROGRAM [ARGUMENT...]`, run as root: psql, pg_dump or pg_restore of
  # the server holding SERVICE's database, as that server's superuser through its socket, with
  # SERVICE's database as the default one. How a database is backed up and restored (docs/deploy.md,
  # Backups and restores): a per-service server admits its superuser only from its own identity
  # (pg_ident), through a folder only its group enters, and pg_dump must be of the server's major
  # version or later, so the programs are the server's own.
  commandScript =
    let
      entry = name:
        let
          user = superuserIdentity name;
        in
        ''
          ${name}) exec ${pkgs.util-linux}/bin/setpriv --reuid=${user} --regid=${user} --init-groups --reset-env -- \
            ${pkgs.coreutils}/bin/env PGHOST=${stackrLib.postgresSocketDir cfg name} PGPORT=${toString (stackrLib.postgresPort config name)} PGUSER=postgres PGDATABASE=${dbName name} \
            "${serverPackage}/bin/$program" "$@" ;;
        '';
    in
    ''
      usage() {
        echo "usage: stackr-postgres SERVICE psql|pg_dump|pg_restore [ARGUMENT...]" >&2
        echo "the services whose database is on this host: ${lib.concatStringsSep " " names}" >&2
        exit 2
      }
      [ "$#" -ge 2 ] || usage
      service=$1
      program=$2
      shift 2
      case $program in psql|pg_dump|pg_restore) ;; *) usage ;; esac
      case $service in
      ${lib.concatMapStrings entry names}*) usage ;;
      esac
    '';
  # pg_hba rules of the services' databases on the system PostgreSQL (shared mode): only the
  # service's role, with its password, through the socket (where its processes connect) or over
  # loopback; then the role refused everywhere else. The server is the host's, and the lines after
  # stackr's (nixpkgs' defaults `local all all peer`, `host all all 127.0.0.1/32 md5`, the host's
  # own) would let the role in elsewhere: an OS account named like it (a service named `nginx`)
  # by peer into `postgres`, where it could set the role's password, and the role with its
  # password into every other database. `host` covers hostssl, hostnossl and both address
  # families; `all` does not cover physical replication, hence `replication` beside it. The `-db`
  # unit logs in as `postgres`, which none of these refuse outside the services' databases.
  sharedRules = lib.concatMapStrings
    (name:
      let id = sqlIdent (dbName name); in ''
        local ${id} postgres peer
        local ${id} ${id} scram-sha-256
        host ${id} ${id} 127.0.0.1/32 scram-sha-256
        host ${id} ${id} ::1/128 scram-sha-256
        local ${id} all reject
        host ${id} all all reject
        local all,replication ${id} reject
        host all,replication ${id} all reject
      '')
    names;
  # The rules of a pg_hba text: its lines without blank and comment lines.
  hbaRules = text: lib.filter (line: builtins.match "[[:space:]]*(#.*)?" line == null) (lib.splitString "\n" text);
in
{
  config = lib.mkIf (cfg.enable && names != [ ]) (lib.mkMerge [
    {
      systemd.services = lib.listToAttrs (map (name: lib.nameValuePair (stackrLib.dbUnitName name) (database name)) names);
      stackr.fleet.credentialSources = map stackrLib.credentialSource (lib.concatMap databaseCredentials names
        ++ lib.optionals (stackrLib.perService cfg) (lib.concatMap serverCredentials names));
      environment.systemPackages = [ (pkgs.writeShellScriptBin "stackr-postgres" commandScript) ];
    }
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
        # pg_hba stops at the first match: placed before the host's own lines (whatever the
        # order of the modules) and nixpkgs' defaults (mkAfter). A host line first would decide
        # for the services' databases (`local all all peer` refuses every API, `trust` skips the
        # password).
        authentication = lib.mkBefore sharedRules;
      };
      # nixpkgs' own description of the option suggests lib.mkForce to replace its defaults,
      # which would drop these rules without a word; a host line given with lib.mkBefore (or a
      # lower mkOrder) in a module before stackr's would come first. Either way the services'
      # logins would be refused, or the host's own rules would decide who reaches their
      # databases: the rules of the merged text (comments and blank lines aside, such as the
      # header nixpkgs puts first) must start with stackr's.
      assertions = [{
        assertion = lib.take (lib.length (hbaRules sharedRules)) (hbaRules config.services.postgresql.authentication) == hbaRules sharedRules;
        message = "stackr: services.postgresql.authentication does not start with stackr's rules (replaced with lib.mkForce, or a host line put before them with lib.mkBefore/lib.mkOrder?); keep them, in this order, before the host's own:\n${sharedRules}";
      }]
      # A database or role the host asks nixpkgs for under a service's name would be the
      # service's: its provisioning sets the role's password and stackr's pg_hba lines decide
      # who reaches the database.
      ++ lib.concatMap
        (name:
          let
            db = dbName name;
            claimedBy = option: names: {
              assertion = !(lib.elem db names);
              message = "stackr: services.postgresql.${option} names `${db}`, the database and role of stackr service ${name}, which would take it over; rename the service or the host's ${option} entry";
            };
          in
          [
            (claimedBy "ensureDatabases" config.services.postgresql.ensureDatabases)
            (claimedBy "ensureUsers" (map (user: user.name) config.services.postgresql.ensureUsers))
          ])
        names;
    })
  ]);
}
