# What nixpkgs' own modules add to a system from the options stackr sets: the units and users that
# stackr's units name or depend on. The system PostgreSQL is modelled as far as the property checks
# need (names, users, state folder, port, ordering, default pg_hba rules); the Redis servers'
# units completely, as nixpkgs writes them, because the systemd checks (checks/) run them. Each
# block names the nixpkgs file.
{ config, lib, pkgs, ... }:
let
  pg = config.services.postgresql;
  redisServers = lib.filterAttrs (_: server: server.enable) config.services.redis.servers;
  redisName = name: if name == "" then "redis" else "redis-${name}";
  # nixos/modules/services/databases/redis.nix: `settings` of a server (the defaults of the
  # options stackr leaves alone written in), and the config file made from them.
  redisSettings = name: server: {
    inherit (server) port appendOnly;
    logfile = "/dev/null";
    databases = 16;
    maxclients = 10000;
    daemonize = false;
    supervised = "systemd";
    loglevel = "notice";
    syslog-enabled = true;
    save = map (d: "${toString (builtins.elemAt d 0)} ${toString (builtins.elemAt d 1)}") server.save;
    dbfilename = "dump.rdb";
    dir = "/var/lib/${redisName name}";
    appendfsync = server.appendFsync;
    slowlog-log-slower-than = 10000;
    slowlog-max-len = 128;
  } // lib.optionalAttrs (server.bind != null) { inherit (server) bind; }
  // lib.optionalAttrs (server.unixSocket != null) { unixsocket = server.unixSocket; unixsocketperm = "660"; }
  // lib.optionalAttrs (server.requirePass != null) { requirepass = server.requirePass; }
  // server.settings;
  redisConfig = settings: lib.generators.toKeyValue
    {
      listsAsDuplicateKeys = true;
      mkKeyValue = lib.generators.mkKeyValueDefault
        { mkValueString = v: if v == true then "yes" else if v == false then "no" else lib.generators.mkValueStringDefault { } v; } " ";
    }
    settings;
in
{
  config = lib.mkMerge [
    # nixos/modules/misc/assertions.nix and nixos/modules/config/users-groups.nix: every user is
    # either a system or a normal user and has a group that exists.
    {
      assertions = lib.concatLists (lib.mapAttrsToList
        (name: user: [
          {
            assertion = user.isSystemUser != user.isNormalUser;
            message = "Exactly one of users.users.${name}.isSystemUser and users.users.${name}.isNormalUser must be set.";
          }
          {
            assertion = user.group != "" && config.users.groups ? ${user.group};
            message = "users.users.${name}.group is unset or names a group that does not exist.";
          }
        ])
        config.users.users);
    }

    # nixos/modules/services/databases/postgresql.nix: the server (Type=notify, user postgres,
    # StateDirectory postgresql), the oneshot that applies ensureDatabases/ensureUsers, and the
    # pg_hba rules it puts around the host's `authentication` lines (a comment before, the
    # defaults after).
    (lib.mkIf pg.enable {
      services.postgresql.authentication = lib.mkMerge [
        (lib.mkBefore "# Generated file; do not edit!")
        (lib.mkAfter ''
          local all postgres peer map=postgres
          local all all peer
          host all all 127.0.0.1/32 md5
          host all all ::1/128 md5
        '')
      ];
      users.users.postgres = { isSystemUser = true; group = "postgres"; home = pg.dataDir; };
      users.groups.postgres = { };
      systemd.services.postgresql = {
        description = "PostgreSQL Server";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        environment.PGPORT = toString pg.settings.port;
        serviceConfig = {
          Type = "notify";
          ExecStart = "${pg.package}/bin/postgres";
          User = "postgres";
          Group = "postgres";
          StateDirectory = "postgresql";
        };
      };
      systemd.services.postgresql-setup = {
        description = "PostgreSQL Setup Scripts";
        after = [ "postgresql.service" ];
        requires = [ "postgresql.service" ];
        wantedBy = [ "multi-user.target" ];
        serviceConfig = { Type = "oneshot"; RemainAfterExit = true; User = "postgres"; Group = "postgres"; };
      };
    })

    # nixos/modules/services/databases/redis.nix: one `redis-<name>` unit and user per enabled
    # server, its port in the firewall on request. The unit as nixpkgs writes it: a root
    # (`+`) pre-start script that writes the config (including the store config and, from
    # `requirePassFile`, the password) into the state folder, then redis-server on it, sandboxed.
    {
      users.users = lib.mapAttrs' (name: server: lib.nameValuePair server.user { isSystemUser = true; group = server.user; }) redisServers;
      users.groups = lib.mapAttrs' (name: server: lib.nameValuePair server.user { }) redisServers;
      systemd.services = lib.mapAttrs'
        (name: server:
          let
            unit = redisName name;
            confVar = "/var/lib/${unit}/redis.conf";
            confRun = "/run/${unit}/nixos.conf";
            confStore = "${builtins.storeDir}/${unit}-redis.conf";
            prepConf = "${builtins.storeDir}/${unit}-prep-conf";
          in
          lib.nameValuePair unit {
            description = "Redis Server - ${unit}";
            wantedBy = [ "multi-user.target" ];
            after = [ "network.target" ];
            storeFiles = {
              ${confStore} = redisConfig (redisSettings name server);
              ${prepConf} = ''
                #!${pkgs.bash}/bin/bash
                touch "${confVar}" "${confRun}"
                chown '${server.user}' "${confVar}" "${confRun}"
                chmod 0600 "${confVar}" "${confRun}"
                if [ ! -s ${confVar} ]; then
                  echo 'include "${confRun}"' > "${confVar}"
                fi
                echo 'include "${confStore}"' > "${confRun}"
              '' + lib.optionalString (server.requirePassFile != null) ''
                {
                  echo -n "requirepass "
                  cat ${lib.escapeShellArg server.requirePassFile}
                } >> "${confRun}"
              '';
            };
            serviceConfig = {
              ExecStart = "${config.services.redis.package}/bin/redis-server ${confVar} ";
              ExecStartPre = "+${prepConf}";
              Type = "notify";
              User = server.user;
              Group = server.user;
              RuntimeDirectory = unit;
              RuntimeDirectoryMode = "0750";
              StateDirectory = unit;
              StateDirectoryMode = "0700";
              UMask = "0077";
              CapabilityBoundingSet = "";
              NoNewPrivileges = true;
              LimitNOFILE = lib.mkDefault "10032";
              ProtectSystem = "strict";
              ProtectHome = true;
              PrivateTmp = true;
              PrivateDevices = true;
              PrivateUsers = true;
              ProtectClock = true;
              ProtectHostname = true;
              ProtectKernelLogs = true;
              ProtectKernelModules = true;
              ProtectKernelTunables = true;
              ProtectControlGroups = true;
              RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
              RestrictNamespaces = true;
              LockPersonality = true;
              MemoryDenyWriteExecute = true;
              RestrictRealtime = true;
              RestrictSUIDSGID = true;
              PrivateMounts = true;
              SystemCallArchitectures = "native";
              SystemCallFilter = "~@cpu-emulation @debug @keyring @memlock @mount @obsolete @privileged @resources @setuid";
            };
          })
        redisServers;
      networking.firewall.allowedTCPPorts = lib.concatMap (server: lib.optional server.openFirewall server.port) (lib.attrValues redisServers);
    }
  ];
}
