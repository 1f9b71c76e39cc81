# Names and facts derived from the stackr options, shared by every module: one place for each.
{ lib }:
rec {
  # An option naming a secret file outside the Nix store (a plain string: a `path` value would be
  # copied into the world-readable store).
  secretPath = description: default: lib.mkOption {
    type = lib.types.str;
    inherit default description;
    example = "/var/keys/stackr/secret";
  };

  # An http(s) URL of one host, without credentials, `*`, `,`, `%`, query or fragment: what
  # `stackr.auth.baseUrl` may be (the config's `baseUrl` is checked the same way), since its
  # origin joins the comma-separated TRUSTED_ORIGINS of every base service.
  plainUrlPattern = "https?://([A-Za-z0-9._-]+|\\[[0-9A-Fa-f:.]+])(:[0-9]+)?(/[A-Za-z0-9._~/!$&'()+;=:@-]*)?";

  # `scheme://host[:port]` of a URL matching plainUrlPattern, lowercase and without the
  # scheme's default port, as browsers send an Origin.
  originOf = url:
    let
      parts = builtins.match "([A-Za-z]+)://([^/]*).*" url;
      scheme = lib.toLower (builtins.elemAt parts 0);
      authority = lib.toLower (builtins.elemAt parts 1);
      defaultPort = { http = ":80"; https = ":443"; }.${scheme};
    in
    "${scheme}://${lib.removeSuffix defaultPort authority}";

  # A text as written, for systemd's `Environment=`: systemd expands `%` specifiers there (`%d`
  # the credentials folder, `%H` the host name, …) and drops an assignment with one it does not
  # know; `%%` is a `%`. Every value a config or host gives is passed through it.
  environmentLiteral = lib.replaceStrings [ "%" ] [ "%%" ];

  # A path as a word of a systemd setting that takes several (`ReadWritePaths=`): double-quoted,
  # with what systemd reads specially there (backslash and quote escapes, `%` specifiers) escaped.
  settingWord = word: ''"${lib.replaceStrings [ "\\" "\"" "%" ] [ "\\\\" "\\\"" "%%" ] word}"'';
  # The same as a word of a command line (`ExecStartPre=`), where `$` also names a variable.
  execWord = word: settingWord (lib.replaceStrings [ "$" ] [ "$$" ] word);

  # PostgreSQL role and database of a service (`-` mapped to `_`).
  dbName = name: builtins.replaceStrings [ "-" ] [ "_" ] name;

  # A PostgreSQL identifier, double-quoted so that a service named like an SQL keyword (`user`,
  # `order`) is still a name. Names are [a-z0-9_], so no inner quote needs doubling.
  sqlIdent = name: ''"${name}"'';

  # A unit tried again after every failed start (a full disk, a store or address not up yet at
  # boot) until one succeeds, 1 s after the first failure and backing off to `longest` seconds
  # apart, never given up: systemd's default start limit (5 starts in 10 s) left a unit failed
  # for good after a second's outage. `RestartSteps=` needs systemd 254; older ones retry every
  # second. Defaults (lib.mkDefault): a host's plain value for one unit wins.
  retriedUntilStarted = longest: {
    unitConfig.StartLimitIntervalSec = lib.mkDefault 0;
    serviceConfig = lib.mapAttrs (_: lib.mkDefault) {
      Restart = "on-failure";
      RestartSec = 1;
      RestartSteps = 9;
      RestartMaxDelaySec = longest;
    };
  };

  # The file of a `LoadCredential=` entry `name:file`.
  credentialSource = entry: lib.concatStringsSep ":" (lib.tail (lib.splitString ":" entry));

  # The oneshot removing the keys a fleet host no longer lists (modules/stale-keys.nix).
  staleKeysUnit = "stackr-stale-keys";

  # `services.redis.servers.<name>` runs as unit `redis-<name>.service`.
  redisUnit = name: "redis-${name}.service";

  # The identity of a service's API and worker (a static system user, so both units share the
  # service's state folder), and of its own PostgreSQL server in per-service mode.
  serviceUser = name: "stackr-${name}";
  postgresUser = name: "stackr-${name}-pg";
  postgresUnitName = name: "stackr-${name}-postgresql";
  # The folder of a PostgreSQL server's Unix socket: a per-service server's own, which only its
  # group enters; nixpkgs' for the system server (shared mode).
  postgresSocketDir = cfg: name:
    if perService cfg then "/run/${postgresUnitName name}" else "/run/postgresql";
  # The oneshot that creates the service's role and database once its server is ready (either
  # mode). A unit of its own, not the server's ExecStartPost: before systemd 256 a sandboxed
  # unit's ExecStartPost cannot read the unit's credentials.
  dbUnitName = name: "stackr-${name}-db";

  perService = cfg: cfg.postgresql.mode == "per-service";

  # Port of the server holding a service's database.
  postgresPort = config: name:
    if perService config.stackr then config.stackr.services.${name}.postgres.port
    else config.services.postgresql.settings.port;

  # Units a service's processes need before they can use their database.
  databaseUnits = cfg: name:
    [ (if perService cfg then "${postgresUnitName name}.service" else "postgresql.service") "${dbUnitName name}.service" ];

  # The service's state folder, relative to /var/lib (systemd `StateDirectory=`).
  stateSubdir = cfg: lib.removePrefix "/var/lib/" cfg.stateDir;

  # SQL that keeps the next statements of a superuser's session out of the server's log, and
  # SQL that gives the session the server's logging back: `ALTER ROLE … PASSWORD` holds the
  # password in clear, and a host logging statements (`log_statement` ddl or all, every
  # statement's duration, a failed statement's text) would write it there. The dev stack's
  # database set-up (templates/process-compose.yaml.tera) says the same.
  noStatementLog = "SET log_statement = 'none'; SET log_min_duration_statement = -1; SET log_min_error_statement = panic;";
  statementLogAgain = "RESET log_statement; RESET log_min_duration_statement; RESET log_min_error_statement;";

  # Shell script run by psql's caller as the server's superuser, with the role's password in the
  # credential `db-password`: the role (login, that password), its own database, and no access for
  # PUBLIC. An unreadable or empty credential stops it: psql would otherwise set an empty
  # password (a failing backquote command is no error to psql) and the unit would succeed. The
  # password is stored as a SCRAM verifier whatever the server's `password_encryption` (a
  # long-lived system server may still have md5, whose hash the scram-sha-256 rules refuse).
  provisionScript = name:
    let
      db = dbName name;
      id = sqlIdent db;
    in
    ''
      if [ ! -s "$CREDENTIALS_DIRECTORY/db-password" ] || [ ! -r "$CREDENTIALS_DIRECTORY/db-password" ]; then
        echo "stackr: credential db-password of ${name} is missing, empty or unreadable" >&2
        exit 1
      fi
      psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
      \set password `cat "$CREDENTIALS_DIRECTORY/db-password"`
      -- A role or database under this name that stackr did not make (the system server of
      -- shared mode is the host's) is not taken over: its password set, the API would hold
      -- whatever the host gave it. stackr gives its role LOGIN, no membership either way, and
      -- the database it owns.
      DO $stackr$
      DECLARE
        role_oid oid;
        found text;
        what_to_do constant text := 'rename the stackr service ${name}, or rename or drop the role and database ${db} the host made';
      BEGIN
        SELECT oid INTO role_oid FROM pg_roles WHERE rolname = '${db}';
        IF role_oid IS NOT NULL THEN
          IF EXISTS (SELECT FROM pg_roles WHERE oid = role_oid AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)) THEN
            RAISE EXCEPTION 'stackr: the PostgreSQL role ${db} already exists with privileges stackr never gives (superuser, createrole, createdb, replication or bypassrls); %', what_to_do;
          END IF;
          SELECT string_agg(r.rolname, ', ') INTO found FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = role_oid;
          IF found IS NOT NULL THEN
            RAISE EXCEPTION 'stackr: the PostgreSQL role ${db} already exists as a member of %; %', found, what_to_do;
          END IF;
          SELECT string_agg(r.rolname, ', ') INTO found FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE m.roleid = role_oid;
          IF found IS NOT NULL THEN
            RAISE EXCEPTION 'stackr: the PostgreSQL role ${db} already exists and has members (%); %', found, what_to_do;
          END IF;
        END IF;
        SELECT r.rolname INTO found FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = '${db}';
        IF found <> '${db}' THEN
          RAISE EXCEPTION 'stackr: the PostgreSQL database ${db} already exists, owned by %; %', found, what_to_do;
        END IF;
      END
      $stackr$;
      SELECT 'CREATE ROLE ${id} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${db}')\gexec
      SET password_encryption = 'scram-sha-256';
      ${noStatementLog}
      ALTER ROLE ${id} WITH LOGIN PASSWORD :'password';
      ${statementLogAgain}
      SELECT 'CREATE DATABASE ${id} OWNER ${id}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${db}')\gexec
      REVOKE ALL ON DATABASE ${id} FROM PUBLIC;
      SQL
    '';

  # Auth's secret files as credentials of its units: the unversioned secret (`AUTH_SECRET_FILE`)
  # and the versioned ones (`AUTH_SECRETS_FILE`), each when set.
  authSecretCredentials = cfg:
    lib.optional (cfg.auth.secretFile != null) { name = "auth-secret"; file = cfg.auth.secretFile; variable = "AUTH_SECRET_FILE"; }
    ++ lib.optional (cfg.auth.secretsFile != null) { name = "auth-secrets"; file = cfg.auth.secretsFile; variable = "AUTH_SECRETS_FILE"; };
  authSecretFiles = cfg: map (c: c.file) (authSecretCredentials cfg);

  authOf = services: lib.findFirst (s: s.kind == "auth") null (lib.attrValues services);

  # The roles auth lets an admin give besides `user` and `admin` (`AUTH_ROLES`): every role a
  # service declares, sorted and without repeats, as the generator lists them in dev.
  declaredRoles = services:
    lib.sort lib.lessThan (lib.unique (lib.concatMap (s: s.roles) (lib.attrValues services)));

  # A sign-in provider's secret: its credential name (the file name the generator uses in dev)
  # and the file on the host. Apple's is the private key that signs a secret.
  oauthSecret = p:
    if p.preset == "apple"
    then { name = "oauth-${p.id}-private-key"; file = p.privateKeyFile; }
    else { name = "oauth-${p.id}-client-secret"; file = p.clientSecretFile; };

  # Auth's providers file (`AUTH_OAUTH_PROVIDERS_FILE`): no secret in it, only credential names,
  # which auth looks up in its credentials folder.
  oauthProvidersJson = providers: builtins.toJSON (map
    (p:
      let secret = oauthSecret p; in
      { providerId = p.id; clientId = p.clientId; trustedForAccountLinking = p.trustedForAccountLinking; }
      // lib.optionalAttrs (p.preset != null) { inherit (p) preset; }
      // lib.optionalAttrs (p.issuer != null) { inherit (p) issuer; }
      // lib.optionalAttrs (p.scopes != [ ]) { inherit (p) scopes; }
      // (if p.preset == "apple"
      then { inherit (p) teamId keyId; privateKeyFile = secret.name; }
      else { clientSecretFile = secret.name; }))
    providers);

  # Base services are auth's provisioning targets.
  baseNames = services: lib.attrNames (lib.filterAttrs (_: s: s.kind == "base") services);

  # Placement on several hosts (`stackr.fleet`, modules/fleet.nix). Without it every part of
  # every service runs on this host, as one API and one worker.
  inFleet = cfg: cfg.fleet.thisHost != null;

  # Where service `name`'s parts run in a fleet (`stackr.fleet.services.<name>`). A service the
  # placement lacks (added in a host's configuration) is named, rather than failing deep in the
  # library on a missing attribute.
  placementOf = cfg: name:
    cfg.fleet.services.${name} or (throw "stackr: service `${name}` is not placed on any host of the fleet (stackr.fleet.services.${name} is missing): add it to `placement` in stackr.config.json and run `stackr generate`, or give stackr.fleet.services.${name} in a module every host's configuration imports.");

  # The host running service `name`'s `part` (api, worker, postgres, redis); null: none, or no fleet.
  partHost = cfg: name: part:
    let placed = if inFleet cfg then (placementOf cfg name).${part} else null; in
    if placed == null then null else placed.host;

  runsHere = cfg: name: part: !(inFleet cfg) || partHost cfg name part == cfg.fleet.thisHost;

  # Replicas of service `name`'s `role` (api, worker) on this host.
  localReplicas = cfg: name: role:
    if !(inFleet cfg) then 1
    else if runsHere cfg name role then (placementOf cfg name).${role}.replicas
    else 0;

  # The hosts whose processes use service `name`'s PostgreSQL and Redis: where its API and
  # worker run.
  clientHosts = cfg: name:
    lib.unique (lib.filter (h: h != null) [ (partHost cfg name "api") (partHost cfg name "worker") ]);

  # The addresses of the other hosts running service `name`'s API or worker: its PostgreSQL
  # server and Redis, on this host, listen on TCP (TLS, the host's address) for them alone, and
  # on no TCP address at all when there are none (modules/postgresql.nix, modules/redis.nix).
  remoteClients = cfg: name:
    if inFleet cfg then
      map (host: cfg.fleet.hosts.${host}.address)
        (lib.filter (host: host != cfg.fleet.thisHost) (clientHosts cfg name))
    else [ ];

  # What a service's PostgreSQL and Redis on this host admit when other hosts connect to them
  # (`IPAddressAllow=`, with every other address denied): loopback, this host's own address (a
  # program here reaching the server by the host's name; dropped, it would hang) and the
  # service's other hosts.
  storePeers = cfg: name:
    [ "localhost" ] ++ map cidr ([ cfg.fleet.hosts.${cfg.fleet.thisHost}.address ] ++ remoteClients cfg name);

  # Service `name`'s Redis speaks TLS (only) when one of its clients is on another host.
  redisTls = cfg: name:
    inFleet cfg && lib.any (h: h != partHost cfg name "redis") (clientHosts cfg name);

  # How this host's processes reach service `name`'s `part`: loopback when it runs here (Redis:
  # its Unix socket, modules/units.nix), else the placed host by name.
  endpoint = cfg: name: part:
    let
      host = partHost cfg name part;
      remote = inFleet cfg && host != cfg.fleet.thisHost;
    in
    { inherit remote; host = if remote then host else "127.0.0.1"; };

  # The units of service `name`'s `role` on this host: `stackr-<name>-<role>` on a single host,
  # numbered replicas `stackr-<name>-<role>-<i>` in a fleet.
  roleUnits = cfg: name: role:
    if !(inFleet cfg) then [ "stackr-${name}-${role}" ]
    else lib.genList (i: "stackr-${name}-${role}-${toString (i + 1)}") (localReplicas cfg name role);

  # Why service `name`'s API replicas on their host cannot run as placed, or null: each needs its
  # own loopback port (`ports`, one per replica), which a host raising `replicas` alone lacks.
  replicaPortsFault = cfg: name:
    let api = (placementOf cfg name).api; in
    if lib.length api.ports == api.replicas then null
    else "stackr.fleet.services.${name}.api: ${toString api.replicas} replicas on ${api.host} but ${toString (lib.length api.ports)} ports; give each replica its own loopback port (as many `ports` as `replicas`)";

  # The loopback port of API replica `replica` (from 0) of service `name`.
  replicaPort = cfg: name: replica:
    let fault = replicaPortsFault cfg name; in
    if fault == null then lib.elemAt (placementOf cfg name).api.ports replica else throw fault;

  # In a fleet auth's API replicas listen on a socket file only the host's nginx may open, not on
  # a loopback port: any local user can connect to loopback, and auth believes the
  # `X-Forwarded-For` of whatever reaches it through the balancer (the client it rate-limits and
  # records). Other services' replicas read no such header and keep their loopback ports.
  behindBalancerSocket = cfg: name: inFleet cfg && cfg.services.${name}.kind == "auth";

  # The socket file of API replica unit `unitName` (see `behindBalancerSocket`).
  replicaSocket = unitName: "/run/${unitName}.sock";

  # An address as the one-address block that `IPAddressAllow=` and pg_hba take.
  cidr = address: "${address}/${if lib.hasInfix ":" address then "128" else "32"}";

  # Firewall lines letting `addresses` (and nobody else) reach TCP `port`, inserted into the
  # NixOS firewall's own chain.
  allowFrom = port: addresses: lib.concatMapStrings
    (address: ''
      ${if lib.hasInfix ":" address then "ip6tables" else "iptables"} -A nixos-fw -p tcp -s ${address} --dport ${toString port} -j nixos-fw-accept
    '')
    addresses;

  # The same as rules of nixpkgs' nftables firewall (`networking.nftables.enable`), which refuses
  # iptables commands.
  allowFromNftables = port: addresses: lib.concatMapStrings
    (address: ''
      ${if lib.hasInfix ":" address then "ip6" else "ip"} saddr ${address} tcp dport ${toString port} accept
    '')
    addresses;
}
