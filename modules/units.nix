# systemd units of every service: `stackr-<name>-api` and `stackr-<name>-worker`. Both run as the
# service's own system user with a strict sandbox, after the service's database and Redis and
# (base services) after a ready auth API; secrets arrive via LoadCredential and are passed to the
# process as *_FILE paths inside $CREDENTIALS_DIRECTORY (%d), never as values.
{ config, lib, pkgs, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  hardening = import ./hardening.nix;
  inherit (stackrLib) dbName redisUnit environmentLiteral;
  auth = stackrLib.authOf withNames;
  provisionNames = stackrLib.baseNames cfg.services;

  inFleet = stackrLib.inFleet cfg;

  # Loopback on a single host; in a fleet the placed host, over TLS verified against the
  # deployment CA when it is another host (modules/fleet.nix).
  commonEnv = name: svc:
    let
      pg = stackrLib.endpoint cfg name "postgres";
      redis = stackrLib.endpoint cfg name "redis";
    in
    {
      STACKR_SERVICE = name;
      # Its own host's PostgreSQL through the server's socket: the URL's host is its folder,
      # percent-encoded (as libpq reads it), each `%` written `%%` for systemd.
      DATABASE_URL = "postgres://${dbName name}@${if pg.remote then pg.host else lib.replaceStrings [ "/" ] [ "%%2F" ] (stackrLib.postgresSocketDir cfg name)}:${toString (stackrLib.postgresPort config name)}/${dbName name}"
        + lib.optionalString pg.remote "?sslmode=verify-full&sslrootcert=%d/tls-ca";
      DATABASE_PASSWORD_FILE = "%d/db-password";
      # Its own host's Redis through the server's Unix socket, whose folder only the server's
      # group enters (the unit's SupplementaryGroups): no other local user can stand in for it,
      # as one could on a loopback port while the server is down.
      REDIS_URL = if redis.remote then "rediss://${redis.host}:${toString svc.redis.port}"
        else "redis+unix://${config.services.redis.servers.${name}.unixSocket}";
      REDIS_PASSWORD_FILE = "%d/redis-password";
      # A default: a host turns one process's logging up with a plain definition on its unit.
      RUST_LOG = lib.mkDefault "info";
    } // lib.optionalAttrs inFleet {
      TLS_CA_FILE = "%d/tls-ca";
    };

  # In a fleet every request reaches auth's replicas through the host's nginx, on a socket file
  # (`stackrLib.behindBalancerSocket`), whose peer auth trusts as its balancer without a listed
  # proxy; loopback is not one (any local user can connect there).
  trustedProxies = cfg.auth.trustedProxies;

  authEnv = name: svc: lib.listToAttrs (map (c: lib.nameValuePair c.variable "%d/${c.name}") (stackrLib.authSecretCredentials cfg)) // {
    AUTH_BASE_URL = environmentLiteral cfg.auth.baseUrl;
    AUTH_TRUSTED_ORIGINS = environmentLiteral (lib.concatStringsSep "," cfg.auth.trustedOrigins);
    AUTH_PROVISION_SERVICES = lib.concatStringsSep "," provisionNames;
    AUTH_ROLES = environmentLiteral (lib.concatStringsSep "," (stackrLib.declaredRoles cfg.services));
    AUTH_SERVICE_CREDENTIALS_DIR = "%d";
    AUTH_MAIL_DIR = "${cfg.stateDir}/${name}/mail";
  } // lib.optionalAttrs (svc.adminPort != null) {
    AUTH_ADMIN_PORT = toString svc.adminPort;
  } // lib.optionalAttrs (trustedProxies != [ ]) {
    AUTH_TRUSTED_PROXIES = environmentLiteral (lib.concatStringsSep "," trustedProxies);
  } // lib.optionalAttrs (svc.adminBind != null) {
    AUTH_ADMIN_BIND = environmentLiteral svc.adminBind;
  } // lib.optionalAttrs (svc.adminHosts != [ ]) {
    AUTH_ADMIN_HOSTS = environmentLiteral (lib.concatStringsSep "," svc.adminHosts);
  } // lib.optionalAttrs (cfg.auth.smtpUrl != null) {
    AUTH_SMTP_URL = environmentLiteral cfg.auth.smtpUrl;
  } // lib.optionalAttrs (cfg.auth.smtpPasswordFile != null) {
    AUTH_SMTP_PASSWORD_FILE = "%d/smtp-password";
  } // lib.optionalAttrs (cfg.auth.userFields != "") {
    AUTH_USER_FIELDS = environmentLiteral cfg.auth.userFields;
  } // lib.optionalAttrs (cfg.auth.oauthProviders != [ ]) {
    AUTH_OAUTH_PROVIDERS_FILE = "${pkgs.writeText "stackr-oauth-providers.json" (stackrLib.oauthProvidersJson cfg.auth.oauthProviders)}";
  };

  # Where the other services call service `name`'s API. In a fleet its load balancer, over HTTPS
  # by its host's name, verified against the deployment CA (modules/fleet.nix), on whichever
  # host: a loopback port of a host where the service does not run would be free for any local
  # user to take, cookies and all.
  apiUrl = name:
    let port = toString cfg.services.${name}.port; in
    if inFleet then "https://${stackrLib.partHost cfg name "api"}:${port}" else "http://127.0.0.1:${port}";

  baseEnv = name: svc: lib.optionalAttrs (auth != null) {
    AUTH_URL = apiUrl auth.name;
    SERVICE_CREDENTIAL_FILE = "%d/credential";
    SESSION_CACHE_TTL_MS = "3000";
    # The browser origins auth trusts: cookie-authenticated state changes only from those pages.
    TRUSTED_ORIGINS = environmentLiteral (lib.concatStringsSep "," ([ (stackrLib.originOf cfg.auth.baseUrl) ] ++ cfg.auth.trustedOrigins));
  } // {
    # Every base service's API, for calls from one service to another (the user's cookie forwarded).
    SERVICE_URLS = lib.concatStringsSep "," (map (base: "${base}=${apiUrl base}") provisionNames);
    # Those of them that authenticate no one (`authMiddleware` none): calls to them carry no cookie.
    ANONYMOUS_SERVICES = lib.concatStringsSep "," (lib.filter (base: cfg.services.${base}.authMiddleware == "none") provisionNames);
    STACKR_QUEUE = name;
    STACKR_QUEUE_PREFIX = "bull";
  };

  credentials = name: svc:
    [ "db-password:${svc.postgres.passwordFile}" "redis-password:${svc.redis.passwordFile}" ]
    ++ (if svc.kind == "auth" then
      map (c: "${c.name}:${c.file}") (stackrLib.authSecretCredentials cfg)
      ++ map (base: "${base}-credential:${cfg.services.${base}.credentialFile}") provisionNames
      ++ lib.optional (cfg.auth.smtpPasswordFile != null) "smtp-password:${cfg.auth.smtpPasswordFile}"
      ++ map (p: let s = stackrLib.oauthSecret p; in "${s.name}:${s.file}") cfg.auth.oauthProviders
    else
      lib.optional (auth != null) "credential:${svc.credentialFile}")
    ++ lib.optional inFleet "tls-ca:${cfg.fleet.tls.caFile}";

  # Every peer of the auth API is local unless it sends mail, signs in through providers, is
  # opened to the network, or serves its dashboard on an address of the host's network (every
  # address of 127.0.0.0/8 is loopback).
  localOnly = svc: svc.kind == "auth" && cfg.auth.smtpUrl == null && cfg.auth.oauthProviders == [ ] && !svc.openFirewall
    && (lib.elem svc.adminBind [ null "::1" ] || lib.hasPrefix "127." svc.adminBind)
    && !(stackrLib.endpoint cfg svc.name "postgres").remote && !(stackrLib.endpoint cfg svc.name "redis").remote;

  # The addresses the auth API's unit and sockets admit when every peer is local: loopback, and
  # the reverse proxies it trusts (`auth.trustedProxies`), which may be on another host and send
  # it every request.
  fence = svc: lib.optionalAttrs (localOnly svc) (hardening.localhostOnly
    // lib.optionalAttrs (cfg.auth.trustedProxies != [ ]) {
      IPAddressAllow = [ hardening.localhostOnly.IPAddressAllow ] ++ cfg.auth.trustedProxies;
    });

  # The groups that alone enter the socket folders of the service's own PostgreSQL and Redis
  # servers on this host.
  storeGroups = name:
    lib.optional (stackrLib.perService cfg && stackrLib.runsHere cfg name "postgres") (stackrLib.postgresUser name)
    ++ lib.optional (stackrLib.runsHere cfg name "redis") config.services.redis.servers.${name}.group;

  # The environment of the process of `role` (`replica`: see `unit`).
  processEnv = { name, svc, role, replica }@process:
    # As written in the config, as in dev.
    stackEnv process // lib.mapAttrs (_: environmentLiteral) svc.environment;

  # What stackr itself sets for the process (the runtime contract), before the service's own
  # `environment`.
  stackEnv = { name, svc, role, replica }:
    let
      isApi = role == "api";
      port = if replica == null then svc.port else stackrLib.replicaPort cfg name replica;
    in
    # One admin page per host: the first replica's.
    removeAttrs (commonEnv name svc
      // (if svc.kind == "auth" then authEnv name svc else baseEnv name svc)
      // lib.optionalAttrs isApi { PORT = toString port; }
      # A replica serves through the load balancer in front of it, never past it.
      // lib.optionalAttrs (isApi && replica != null) { LISTEN_ADDRESS = "127.0.0.1"; }
      // lib.optionalAttrs (!isApi) { WORKER_CONCURRENCY = toString svc.worker.concurrency; })
      (lib.optional (replica != null && replica > 0) "AUTH_ADMIN_PORT");

  # The variables of service `name`'s `environment` that stackr sets itself for its processes
  # (RUST_LOG aside, a default meant to be changed): the config may not name them
  # (stackr.config.json is checked), and a host's definition would replace stackr's value without
  # a word (an API told another PORT than its socket's, firewall's and callers').
  takenVariables = name: svc:
    let
      own = lib.concatMap
        (role: lib.attrNames (stackEnv { inherit name svc role; replica = if inFleet then 0 else null; }))
        ([ "api" ] ++ lib.optional svc.worker.enable "worker");
    in
    lib.filter (variable: variable != "RUST_LOG" && lib.elem variable own) (lib.attrNames svc.environment);

  # The listening sockets of API unit `unitName`, which systemd holds and hands to the process
  # at start (socket activation): bound while the process is down (a restart, a crash, a
  # deploy), so no other local user can take the port in between and be sent what is meant for
  # the API (users' cookies, a service's credential towards auth). The API's, and auth's admin
  # page's; named as the process looks them up (FileDescriptorName=).
  apiSockets = { name, svc, replica, unitName }:
    let
      env = processEnv { inherit name svc replica; role = "api"; };
      stream = address: port: "${if lib.hasInfix ":" address then "[${address}]" else address}:${port}";
      socket = fdName: listen: {
        description = "Listening socket (${fdName}) of stackr ${name} api";
        wantedBy = [ "sockets.target" ];
        listenStreams = [ listen ];
        # The same addresses as the process's own: the socket, and every connection accepted on
        # it, belong to this unit, not the service's.
        socketConfig = fence svc // {
          FileDescriptorName = fdName;
          Service = "${unitName}.service";
          # Sockets start early in boot, before the network's addresses are up: an address of
          # the host's own (adminBind, LISTEN_ADDRESS) is bound all the same.
          FreeBind = true;
          # A socket that fails closes its port, free for anyone to bind: no limit on how often
          # connections start its service.
          TriggerLimitIntervalSec = 0;
        };
      };
    in
    # Unset addresses default as the processes' own do: every address for the API (a bare port,
    # which systemd binds to `[::]`, taking IPv4 too, or to 0.0.0.0 on a host without IPv6, as
    # the runtime binds itself when not socket-activated: `openFirewall` opens the port to both
    # families), loopback for the admin page. An explicit address is bound as it is.
    [
      (lib.nameValuePair unitName
        (if replica != null && stackrLib.behindBalancerSocket cfg name
        # Only nginx's group may connect (systemd creates the file, owned by root).
        then lib.recursiveUpdate (socket "api" (stackrLib.replicaSocket unitName)) {
          socketConfig = { SocketGroup = config.services.nginx.group; SocketMode = "0660"; };
        }
        else socket "api" (if env ? LISTEN_ADDRESS then stream env.LISTEN_ADDRESS env.PORT else env.PORT)))
    ]
    ++ lib.optional (env ? AUTH_ADMIN_PORT)
      (lib.nameValuePair "${unitName}-admin" (socket "admin" (stream (env.AUTH_ADMIN_BIND or "127.0.0.1") env.AUTH_ADMIN_PORT)));

  # A deploy that changes an API's sockets (a port, an address, who may connect) reaches them only
  # through this oneshot: NixOS's switch-to-configuration leaves a changed `.socket` unit alone
  # (and after its daemon-reload systemd keeps the old listening socket and opens no new one),
  # while the API, restarted on its own (stopIfChanged = false), would be handed the old socket
  # set. Its reload restarts the sockets and the API in one transaction (the API stops first,
  # then its sockets; they start again before it): switch-to-configuration reloads it, and
  # reloads rather than restarts it, when its reload triggers alone changed, i.e. when the
  # sockets' settings did. Starting it (at boot, or when first deployed) does nothing.
  socketsUnit = { name, svc, replica, unitName }:
    let sockets = apiSockets { inherit name svc replica unitName; }; in
    lib.nameValuePair "${unitName}-sockets" {
      description = "Applies changed listening sockets of stackr ${name} api";
      wantedBy = [ "multi-user.target" ];
      reloadTriggers = map (s: builtins.toJSON { inherit (s.value) listenStreams socketConfig; }) sockets;
      # Root, as systemctl must be to restart units without polkit, in a sandbox where it can do
      # nothing else.
      serviceConfig = hardening.systemdClient // {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${pkgs.coreutils}/bin/true";
        ExecReload = "${pkgs.systemd}/bin/systemctl restart ${lib.concatMapStringsSep " " (s: "${s.name}.socket") sockets} ${unitName}.service";
      };
    };

  # `replica`: its index in a fleet (API replicas listen on their loopback port behind the load
  # balancer; only the first serves auth's admin page); null on a single host.
  unit = { name, svc, role, replica ? null, unitName }:
    let
      isApi = role == "api";
      user = stackrLib.serviceUser name;
      sockets = lib.optionals isApi (map (s: "${s.name}.socket") (apiSockets { inherit name svc replica unitName; }));
      # In a fleet the process reaches auth through the host's nginx (`AUTH_URL`), even here.
      authUnit = lib.optionals (auth != null && svc.kind == "base" && stackrLib.runsHere cfg auth.name "api")
        (map (u: "${u}.service") (stackrLib.roleUnits cfg auth.name "api") ++ lib.optional inFleet "nginx.service");
      deps = lib.optionals (stackrLib.runsHere cfg name "postgres") (stackrLib.databaseUnits cfg name)
        ++ lib.optional (stackrLib.runsHere cfg name "redis") (redisUnit name);
      network = lib.optional inFleet "network-online.target";
    in
    {
      description = "stackr ${name} ${role}";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ] ++ network ++ deps ++ authUnit ++ sockets;
      # Its stores are wanted, not required: a required unit whose start fails (a store failing
      # its first start at boot) fails this unit's start with it, and systemd never starts this
      # one again once the store starts on a later try. The process waits for its stores itself,
      # and is tried again until they answer.
      requires = sockets;
      wants = network ++ authUnit ++ deps;
      # The service's `environment` values are defaults here too: a host's plain value on one
      # unit (`systemd.services.stackr-core-worker.environment.FEATURE_X`) replaces it for that
      # process alone, as it does RUST_LOG's.
      environment = lib.mapAttrs (variable: value: if svc.environment ? ${variable} then lib.mkDefault value else value)
        (processEnv { inherit name svc role replica; });
      # An API keeps its sockets through a deploy: restarted on its own (nixos-rebuild stops a
      # socket-activated service's sockets with it otherwise).
      stopIfChanged = !isApi;
      # Never failed for good by the start limit (an API's would fail its sockets and free their
      # ports): tried again every 2 s until its stores answer.
      unitConfig.StartLimitIntervalSec = 0;
      serviceConfig = hardening.process // fence svc // {
        # The binaries send READY=1 once they listen (API) or consume their queue (worker): units
        # ordered after this one start only then.
        Type = "notify";
        NotifyAccess = "main";
        User = user;
        Group = user;
        SupplementaryGroups = storeGroups name;
        ExecStart = "${svc.package}/bin/${name}-${role}";
        # API and worker run as the same identity, so they can share the service's state folder.
        StateDirectory = "${stackrLib.stateSubdir cfg}/${name}";
        StateDirectoryMode = "0700";
        LoadCredential = credentials name svc;
        Restart = lib.mkDefault "on-failure";
        RestartSec = lib.mkDefault 2;
      } // lib.optionalAttrs isApi { Sockets = sockets; };
    };

  # `stackr-set-role EMAIL ROLE` (run as root) gives a user roles, e.g. makes the first admin: the
  # auth API's own binary runs once as the unit's user, with its database credential, database URL
  # and declared roles, and the password handed over as a file, as the unit does.
  # In a fleet the transient unit has a fixed name, so the database URL can name the CA
  # credential's path (systemd expands no `%d` in --setenv).
  setRoleScript = svc:
    let
      env = commonEnv svc.name svc // authEnv svc.name svc;
      user = stackrLib.serviceUser svc.name;
      credentialsDir = "/run/credentials/stackr-set-role.service";
    in
    ''
      exec systemd-run --quiet --wait --pipe --collect --uid=${user} --gid=${user} \
        ${lib.concatMapStrings (group: "--property=SupplementaryGroups=${group} ") (storeGroups svc.name)}\
        --property=LoadCredential=${lib.escapeShellArg "db-password:${svc.postgres.passwordFile}"} ${lib.optionalString inFleet "--unit=stackr-set-role --property=LoadCredential=${lib.escapeShellArg "tls-ca:${cfg.fleet.tls.caFile}"} "}\
        --setenv=DATABASE_URL=${lib.escapeShellArg (builtins.replaceStrings [ "%d/" "%%" ] [ "${credentialsDir}/" "%" ] env.DATABASE_URL)} \
        --setenv=AUTH_ROLES=${lib.escapeShellArg (builtins.replaceStrings [ "%%" ] [ "%" ] env.AUTH_ROLES)} \
        /bin/sh -c 'DATABASE_PASSWORD_FILE="$CREDENTIALS_DIRECTORY/db-password" exec "$0" set-role "$@"' \
        ${svc.package}/bin/${svc.name}-api "$@"
    '';

  # `auth` is looked up by name in unit dependencies; attach the name to the record.
  withNames = lib.mapAttrs (name: svc: svc // { inherit name; }) cfg.services;

  # Every API, worker and sockets unit of this host, as name-value pairs.
  stackUnits = lib.concatLists (lib.mapAttrsToList
    (name: svc:
      let
        units = role: lib.imap0
          (i: unitName: lib.nameValuePair unitName (unit { inherit name svc role unitName; replica = if inFleet then i else null; }))
          (stackrLib.roleUnits cfg name role);
      in
      units "api" ++ lib.optionals svc.worker.enable (units "worker")
      ++ lib.imap0
        (i: unitName: socketsUnit { inherit name svc unitName; replica = if inFleet then i else null; })
        (stackrLib.roleUnits cfg name "api"))
    withNames);

  # On a single host, the APIs the firewall alone keeps closed: they listen on every address with
  # plain HTTP; not those `openFirewall` opens, nor auth fenced to loopback. (A fleet's hosts are
  # warned in modules/fleet.nix.)
  firewalledApis = lib.filter (svc: !inFleet && !svc.openFirewall && !(localOnly svc)) (lib.attrValues withNames);
  firewalledApisText = lib.concatMapStringsSep ", " (svc: "${svc.name}'s API (port ${toString svc.port})") firewalledApis;
  trustedInterfaces = lib.remove "lo" config.networking.firewall.trustedInterfaces;

  # Services whose API or worker runs on this host (their identity lives here).
  processesHere = lib.filterAttrs
    (name: _: stackrLib.localReplicas cfg name "api" + stackrLib.localReplicas cfg name "worker" > 0)
    cfg.services;
in
{
  config = lib.mkIf cfg.enable {
    systemd.services = lib.listToAttrs stackUnits;

    stackr.fleet.credentialSources = lib.concatMap
      (u: map stackrLib.credentialSource (u.value.serviceConfig.LoadCredential or [ ]))
      stackUnits;

    systemd.sockets = lib.listToAttrs (lib.concatLists (lib.mapAttrsToList
      (name: svc: lib.concatLists (lib.imap0
        (i: unitName: apiSockets { inherit name svc unitName; replica = if inFleet then i else null; })
        (stackrLib.roleUnits cfg name "api")))
      withNames));

    users.users = lib.mapAttrs'
      (name: _: lib.nameValuePair (stackrLib.serviceUser name) {
        isSystemUser = true;
        group = stackrLib.serviceUser name;
        description = "stackr service ${name}";
      })
      processesHere;
    users.groups = lib.mapAttrs' (name: _: lib.nameValuePair (stackrLib.serviceUser name) { }) processesHere;

    environment.systemPackages =
      lib.optional (auth != null && stackrLib.runsHere cfg auth.name "api") (pkgs.writeShellScriptBin "stackr-set-role" (setRoleScript auth));

    assertions = lib.mapAttrsToList
      (name: svc:
        let taken = takenVariables name svc; in {
          assertion = taken == [ ];
          message = "stackr: stackr.services.${name}.environment sets ${lib.concatStringsSep ", " taken}, which stackr sets itself for ${name}'s processes from its options (its port, database, Redis, auth, …); set those options instead. RUST_LOG and variables stackr does not set are the environment's to give.";
        })
      withNames;

    warnings = lib.optionals (firewalledApis != [ ]) (
      lib.optional (!config.networking.firewall.enable)
        "stackr: networking.firewall is off: ${firewalledApisText} listen on every address of this host with plain HTTP, open to every host that reaches it, past a TLS proxy of yours."
      ++ lib.optional (config.networking.firewall.enable && trustedInterfaces != [ ])
        "stackr: networking.firewall.trustedInterfaces (${lib.concatStringsSep ", " trustedInterfaces}): ${firewalledApisText} listen on every address of this host with plain HTTP, open to every host on them, past a TLS proxy of yours.");

    # The API port only: the admin page binds loopback.
    networking.firewall.allowedTCPPorts =
      lib.concatMap (svc: lib.optional (svc.openFirewall && stackrLib.runsHere cfg svc.name "api") svc.port) (lib.attrValues withNames);
  };
}
