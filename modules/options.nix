# Option declarations of stackr. Secrets are plain strings naming files outside the Nix store
# (a `path` value would be copied into the world-readable store).
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption types;
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };

  inherit (stackrLib) secretPath;

  # "/var/lib/stackr/" -> "/var/lib/stackr".
  dropTrailingSlashes = dir:
    let kept = builtins.match "(.*[^/])/+" dir; in
    if kept == null then dir else builtins.head kept;

  # A sign-in provider of auth, as `oauthProviders` in stackr.config.json.
  oauthProviderOptions = { config, ... }: {
    options = {
      id = mkOption {
        type = types.strMatching "[a-z0-9_-]{1,64}";
        description = "Provider id: `signIn.social`'s `provider`; the redirect URI is `<baseUrl>/api/auth/callback/<id>`.";
      };
      preset = mkOption {
        type = types.nullOr (types.enum [ "google" "github" "apple" ]);
        default = null;
        description = "A built-in provider; null for a generic OpenID Connect provider given by `issuer`.";
      };
      issuer = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Issuer URL of a generic OpenID Connect provider.";
      };
      clientId = mkOption {
        type = types.str;
        description = "The client id the provider issued.";
      };
      scopes = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Scopes besides the preset's own (generic providers: besides `openid`; default `email profile`).";
      };
      teamId = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Apple only: Team ID.";
      };
      keyId = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Apple only: Key ID of the Sign in with Apple key.";
      };
      trustedForAccountLinking = mkOption {
        type = types.bool;
        default = false;
        description = "Link to an existing user with the same address even when the provider does not say it is verified.";
      };
      clientSecretFile = secretPath "File with the provider's client secret (not Apple)." "${cfg.secretsDir}/oauth-${config.id}-client-secret";
      privateKeyFile = secretPath "Apple only: file with the Sign in with Apple private key (.p8)." "${cfg.secretsDir}/oauth-${config.id}-private-key";
    };
  };

  serviceOptions = { name, config, ... }: {
    options = {
      kind = mkOption {
        type = types.enum [ "auth" "base" ];
        default = "base";
        description = "`auth` is the single trust anchor; `base` services authenticate through it.";
      };
      package = mkOption {
        type = types.package;
        description = "Package providing `bin/${name}-api` and, with a worker, `bin/${name}-worker`.";
      };
      port = mkOption {
        type = types.port;
        description = "Port of the service's HTTP API (`PORT`).";
      };
      adminPort = mkOption {
        type = types.nullOr types.port;
        default = null;
        description = "Auth only: port of the admin page (`AUTH_ADMIN_PORT`).";
      };
      adminBind = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "10.0.0.5";
        description = ''
          Auth only: IP address the admin page listens on (`AUTH_ADMIN_BIND`); `null` keeps auth's
          default, loopback. The firewall is left as it is: open `adminPort` on the private
          interface yourself.
        '';
      };
      adminHosts = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "admin.example.com" ];
        description = ''
          Auth only: host names the admin page answers to besides IP addresses and `localhost`
          (`AUTH_ADMIN_HOSTS`): those of a reverse proxy in front of it that passes the `Host` the
          browser sent. Any other name is refused, so a web page cannot reach the admin page by
          pointing a name of its own at its address (DNS rebinding).
        '';
      };
      authMiddleware = mkOption {
        type = types.enum [ "standard" "role-gated" "flexible" "none" ];
        default = "standard";
        description = "Base only: how the service's guard treats requests.";
      };
      roles = mkOption {
        # Defined once, by the generated file: the service's code was scaffolded with these roles
        # and auth's follow them, and a list option would otherwise join a host's definition to
        # the config's, letting the host's roles through unnoticed.
        type = types.uniq (types.listOf types.str);
        default = [ ];
        description = "Roles a `role-gated` guard lets through (admin always passes); set in stackr.config.json, not on a host.";
      };
      worker = {
        enable = mkOption {
          type = types.bool;
          default = config.kind == "base";
          defaultText = lib.literalExpression ''kind == "base"'';
          description = "Whether to run the service's BullMQ worker (`${name}-worker`).";
        };
        concurrency = mkOption {
          type = types.ints.positive;
          default = 10;
          description = "`WORKER_CONCURRENCY` of the worker.";
        };
      };
      postgres = {
        port = mkOption {
          type = types.nullOr types.port;
          default = null;
          description = ''
            Per-service mode: port of the service's own PostgreSQL server (required). Shared mode:
            leave null; the database lives in the system server at `services.postgresql.settings.port`.
          '';
        };
        passwordFile = secretPath "File with the password of the service's PostgreSQL role." "${cfg.secretsDir}/${name}-db-password";
      };
      redis = {
        port = mkOption {
          type = types.port;
          description = "Port of the service's own Redis (`services.redis.servers.${name}`) for clients on other hosts (TLS); never 6379. Processes on its own host use its Unix socket, and without clients elsewhere it listens on no port.";
        };
        passwordFile = secretPath "File with the service's Redis password (`requirepass`)." "${cfg.secretsDir}/${name}-redis-password";
      };
      credentialFile = secretPath "Base only: the service's credential towards auth (read by both sides)." "${cfg.secretsDir}/${name}-credential";
      environment = mkOption {
        type = types.attrsOf types.str;
        default = { };
        description = "Extra, non-secret environment variables for the API and worker.";
      };
      openFirewall = mkOption {
        type = types.bool;
        default = false;
        description = "Open the API port in the firewall (only that port: the admin page binds loopback).";
      };
    };
  };
in
{
  options.stackr = {
    enable = mkEnableOption "the stackr service stack";
    stateDir = mkOption {
      # systemd refuses a `StateDirectory=` with an empty, `.` or `..` component (a doubled or
      # trailing `/`): a folder under /var/lib, named as `deploy.stateDir` of stackr.config.json
      # may be; trailing slashes, which the generator accepts, are dropped.
      type = types.addCheck types.str
        (dir:
          let parts = lib.splitString "/" (lib.removePrefix "/var/lib/" (dropTrailingSlashes dir)); in
          lib.hasPrefix "/var/lib/" dir
          && lib.all (part: builtins.match "[A-Za-z0-9._-]+" part != null && part != "." && part != "..") parts)
      // { description = "folder under /var/lib, each component named with letters, digits, `.`, `_` and `-` (not `.` or `..`, no empty one)"; };
      apply = dropTrailingSlashes;
      default = "/var/lib/stackr";
      example = "/var/lib/stackr";
      description = ''
        Parent of every service's state directory (systemd `StateDirectory`, so under /var/lib).
        A trailing `/` is dropped. Changing it moves nothing: the services start afresh in the new
        folder (empty per-service databases and, with `secrets.generate`, new secrets, auth's
        included, which signs every user out and locks every two-factor user out); move the old
        folder's content there first, with the stack stopped.
      '';
    };
    secretsDir = mkOption {
      type = types.str;
      # Not under /run/keys (where colmena and nixops upload keys by default): /run is emptied by
      # a reboot, and a unit whose credential file is gone does not start.
      default = if cfg.secrets.generate then "${cfg.stateDir}/secrets" else "/var/keys/stackr";
      defaultText = lib.literalExpression ''if secrets.generate then "''${stateDir}/secrets" else "/var/keys/stackr"'';
      description = "Default folder of the secret files (each secret option can point elsewhere); keep it where a reboot keeps it.";
    };
    secrets.generate = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Create every missing secret file once, with random content, under `secretsDir` (by default
        in the state folder, so they survive reboots; an existing file is never replaced). Meant
        for tests, demos and single hosts; back the folder up with the databases.
      '';
    };
    postgresql = {
      mode = mkOption {
        type = types.enum [ "per-service" "shared" ];
        default = "per-service";
        description = ''
          `per-service`: each service gets its own PostgreSQL server (own unit, data folder under
          the state folder, port and role). `shared`: one database and role per service in the
          system `services.postgresql`, isolated by pg_hba rules; for small hosts.
        '';
      };
      package = mkOption {
        type = types.package;
        # Chosen by system.stateVersion, as nixpkgs chooses the system's PostgreSQL, so that a
        # nixpkgs upgrade keeps the major version a data folder was made with (a server of
        # another major version refuses it); `pkgs.postgresql` moves with nixpkgs. Not the
        # system server's `services.postgresql.package` either: the host upgrading its own
        # server to a new major would move every per-service server with it. nixpkgs defines
        # its choice only while the system server is enabled, hence the table here.
        default =
          if lib.versionAtLeast config.system.stateVersion "25.11" then pkgs.postgresql_17
          else if lib.versionAtLeast config.system.stateVersion "24.11" then pkgs.postgresql_16
          else if lib.versionAtLeast config.system.stateVersion "23.11" then pkgs.postgresql_15
          else pkgs.postgresql_14;
        defaultText = lib.literalExpression ''
          by system.stateVersion (whatever services.postgresql.package is): 25.11 and later
          pkgs.postgresql_17, 24.11 pkgs.postgresql_16, 23.11 pkgs.postgresql_15, earlier
          pkgs.postgresql_14'';
        description = "PostgreSQL of the per-service servers. Moving to another major version needs their data folders upgraded first (pg_upgrade, or a dump and restore: docs/deploy.md, Backups and restores): a server whose data folder another major version made refuses to start, naming the folder.";
      };
    };
    auth = {
      baseUrl = mkOption {
        type = types.strMatching stackrLib.plainUrlPattern;
        default = "http://localhost:8888";
        description = "Public URL of the auth service (`AUTH_BASE_URL`); `https://` enables secure cookies.";
      };
      trustedOrigins = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Browser origins allowed to call auth (`AUTH_TRUSTED_ORIGINS`).";
      };
      trustedProxies = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "10.0.0.9" ];
        description = ''
          Addresses or CIDR blocks of reverse proxies in front of auth whose `X-Forwarded-For` it
          believes (`AUTH_TRUSTED_PROXIES`), so that its rate limits and sessions see each client's
          own address. In a fleet the host's own load balancer reaches auth's replicas on
          socket files only it may open, and is believed there without being listed; a
          loopback address listed here is one any local user can connect from.
        '';
      };
      secretFile = mkOption {
        type = types.nullOr types.str;
        default = "${cfg.secretsDir}/auth-secret";
        defaultText = lib.literalExpression ''"''${secretsDir}/auth-secret"'';
        example = "/var/keys/stackr/auth-secret";
        description = ''
          File with auth's unversioned cookie/HMAC secret (`AUTH_SECRET_FILE`, at least 32
          characters). null retires it, once `secretsFile` lists every secret auth still needs.
        '';
      };
      secretsFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/var/keys/stackr/auth-secrets";
        description = ''
          File with auth's versioned secrets (`AUTH_SECRETS_FILE`), one `<version>:<secret>` per
          line: the highest version signs and seals, every listed one and `secretFile` still
          verify and open. How auth's secret is rotated: a new file in place of `secretFile`
          would leave every two-factor enrolment sealed by a secret auth no longer has.
        '';
      };
      smtpUrl = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "SMTP URL for auth's mail (`AUTH_SMTP_URL`, e.g. `smtps://user@host`: the password goes in `smtpPasswordFile`, never here); null keeps the file mailbox.";
      };
      smtpPasswordFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "File with the SMTP password.";
      };
      oauthProviders = mkOption {
        type = types.listOf (types.submodule oauthProviderOptions);
        default = [ ];
        description = ''
          Sign-in providers (`AUTH_OAUTH_PROVIDERS_FILE`). The providers file holds no secret;
          each provider's secret file reaches auth through LoadCredential.
        '';
      };
      userFields = mkOption {
        type = types.str;
        default = "";
        example = ''[{"name":"plan","type":"string","required":false,"input":false,"defaultValue":"free"}]'';
        description = ''
          Additional user fields (`AUTH_USER_FIELDS`): the JSON array stackr generates from
          `userFields` in stackr.config.json; empty for none.
        '';
      };
    };
    services = mkOption {
      type = types.attrsOf (types.submodule serviceOptions);
      default = { };
      description = "The services of the stack, by name.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions =
      let
        names = lib.attrNames cfg.services;
        all = lib.attrValues cfg.services;
        auths = lib.filter (s: s.kind == "auth") all;
        perService = stackrLib.perService cfg;
        # Every file holding a secret that a unit of the stack reads (the CA's certificate, no
        # secret, may be anywhere).
        secretFiles = stackrLib.authSecretFiles cfg
          ++ map (p: (stackrLib.oauthSecret p).file) cfg.auth.oauthProviders
          ++ lib.optional (cfg.auth.smtpPasswordFile != null) cfg.auth.smtpPasswordFile
          ++ lib.optional (stackrLib.inFleet cfg) cfg.fleet.tls.keyFile
          ++ lib.concatMap (s: [ s.postgres.passwordFile s.redis.passwordFile s.credentialFile ]) all;
        # Every Redis server of this host (the services' and the host's own) on the TCP ports it
        # binds: its port and TLS port, 0 being none. A service's Redis listens on its
        # `redis.port` (TLS) only when it has clients on other hosts; else on its Unix socket
        # alone (modules/redis.nix).
        redisPorts = lib.concatLists (lib.mapAttrsToList
          (name: server: map (port: { inherit port; what = if cfg.services ? ${name} then "${name}'s Redis" else "the host's Redis `${name}`"; })
            (lib.filter (port: port != 0) [ server.port (server.settings.tls-port or 0) ]))
          (lib.filterAttrs (_: server: server.enable) config.services.redis.servers));
        # Everything that listens on TCP on this host on behalf of the stack, the system
        # PostgreSQL and the host's own Redis servers. An API's port (and auth's admin port) is
        # bound only where the API runs. A per-service PostgreSQL binds its port only where it
        # runs and has clients on other hosts; else it has its Unix socket alone.
        listeners = redisPorts ++ lib.concatMap
          (name:
            let s = cfg.services.${name}; in
            lib.optionals (stackrLib.runsHere cfg name "api") (
              [ { port = s.port; what = "${name}'s API"; } ]
              ++ lib.optional (s.adminPort != null) { port = s.adminPort; what = "${name}'s admin page"; }
              # A fleet's replicas behind the host's nginx, on their loopback ports (auth's on
              # socket files instead).
              ++ lib.optionals (stackrLib.inFleet cfg && !(stackrLib.behindBalancerSocket cfg name))
                (lib.imap1 (i: port: { inherit port; what = "${name}'s API replica ${toString i}"; })
                  (stackrLib.placementOf cfg name).api.ports))
            ++ lib.optional (perService && s.postgres.port != null && stackrLib.runsHere cfg name "postgres" && stackrLib.remoteClients cfg name != [ ])
              { port = s.postgres.port; what = "${name}'s PostgreSQL"; })
          names
        ++ lib.optional config.services.postgresql.enable { port = config.services.postgresql.settings.port; what = "the system PostgreSQL"; };
        clashing = lib.filter (l: lib.length (lib.filter (o: o.port == l.port) listeners) > 1) listeners;
        # The password a URL holds (`scheme://user:password@host`), null for none or an empty one
        # (`user:@`, no secret). The user part runs to the last `@`, not to the first `/`, `?`,
        # `#` or `@` as a URL parser reads it: a password written with one of those as is still
        # lands in the store. An `@` past the host (no SMTP URL has one) counts as the end of a
        # user part too, refusing rather than missing a password. A URL without its scheme
        # (`user:password@host`, which auth refuses, but only once it is in the store) is read
        # as a user part from its start.
        smtpPassword = url:
          let
            afterScheme = builtins.match "[A-Za-z][A-Za-z0-9+.-]*://(.*)" url;
            rest = if afterScheme == null then url else builtins.elemAt afterScheme 0;
            userinfo = builtins.match "(.*)@.*" rest;
          in
          if userinfo == null then null
          else builtins.match "[^:]*:(.+)" (builtins.elemAt userinfo 0);
      in
      [
        {
          assertion = lib.length auths <= 1;
          message = "stackr: at most one service may have kind = \"auth\".";
        }
        {
          assertion = lib.all (p: (p.preset == null) != (p.issuer == null)) cfg.auth.oauthProviders;
          message = "stackr: each of stackr.auth.oauthProviders needs either preset or issuer, not both.";
        }
        {
          assertion = auths == [ ] || stackrLib.authSecretFiles cfg != [ ];
          message = "stackr: auth needs a secret: set stackr.auth.secretFile, stackr.auth.secretsFile or both.";
        }
        {
          assertion = lib.all (f: !(lib.hasPrefix builtins.storeDir f)) secretFiles;
          message = "stackr: secret files must live outside the Nix store.";
        }
        {
          # The URL lands in the unit file, in the store, and in auth's environment; auth reads
          # the password from its file only.
          assertion = cfg.auth.smtpUrl == null || smtpPassword cfg.auth.smtpUrl == null;
          message = "stackr: stackr.auth.smtpUrl holds a password (`user:password@`), which would be written into the Nix store and auth's environment; keep only the user name in it (`smtps://user@host`) and put the password in the file stackr.auth.smtpPasswordFile names.";
        }
        {
          assertion = lib.all (s: s.redis.port != 6379) all;
          message = "stackr: service Redis instances never use 6379 (the default instance's port).";
        }
        {
          assertion = clashing == [ ];
          message = "stackr: port clash: ${lib.concatMapStringsSep ", " (l: "${l.what} on ${toString l.port}") clashing}.";
        }
        {
          assertion = perService -> lib.all (s: s.postgres.port != null) all;
          message = "stackr: per-service PostgreSQL needs stackr.services.<name>.postgres.port for every service.";
        }
        {
          assertion = !perService -> lib.all (s: s.postgres.port == null) all;
          message = "stackr: in shared PostgreSQL mode the databases use services.postgresql.settings.port; leave stackr.services.<name>.postgres.port null.";
        }
      ];
  };
}
