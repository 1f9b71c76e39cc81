# What nixpkgs' own modules add to a system from the options stackr sets: the units and users that
# stackr's units name or depend on. The system PostgreSQL's, the Redis servers', nginx's and the
# firewall's units completely, as nixpkgs writes them, because the systemd checks (checks/) run
# them. Each block names the nixpkgs file.
{ config, lib, pkgs, ... }:
let
  pg = config.services.postgresql;
  # nixos/modules/services/databases/postgresql.nix: the server's config files, and `toStr`, how
  # a setting's value is written in postgresql.conf.
  pgConfigFile = "${builtins.storeDir}/postgresql.conf";
  pgHbaFile = "${builtins.storeDir}/pg_hba.conf";
  pgIdentFile = "${builtins.storeDir}/pg_ident.conf";
  pgValue = value:
    if true == value then "yes"
    else if false == value then "no"
    else if lib.isString value then "'${lib.replaceStrings [ "'" ] [ "''" ] value}'"
    else toString value;
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

  # nixos/modules/services/web-servers/nginx/default.nix: the config file of `upstreams` and
  # `virtualHosts` (nixpkgs' defaults of the options stackr leaves alone written in), and the
  # command that runs it.
  nginx = config.services.nginx;
  nginxConfigFile = "${builtins.storeDir}/nginx.conf";
  nginxExec = "${pkgs.nginx}/bin/nginx -c '${nginxConfigFile}'";
  nginxUpstream = name: upstream: ''
    upstream ${name} {
    ${lib.concatStrings (lib.mapAttrsToList (address: server: "  server ${address} ${lib.concatStringsSep " " (lib.mapAttrsToList (k: v: "${k}=${toString v}") (removeAttrs server [ "backup" ]))}${lib.optionalString server.backup " backup"};\n") upstream.servers)}  ${upstream.extraConfig}
    }
  '';
  # `recommendedProxyConfig`, included in the http block with the global
  # `recommendedProxySettings`, and in each proxying location whose own (by default the global)
  # is on. (nixpkgs includes a store file; its lines are written in here.)
  nginxRecommendedProxyHeaders = ''
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $host;
    proxy_set_header X-Forwarded-Server $host;
  '';
  nginxListen = vhost: listen:
    "listen ${listen.addr}${lib.optionalString (listen.port != null) ":${toString listen.port}"}${lib.optionalString (listen.ssl || vhost.onlySSL) " ssl"};";
  nginxServer = name: vhost: ''
    server {
      ${lib.concatMapStringsSep "\n  " (nginxListen vhost) vhost.listen}
      server_name ${name};
      ${lib.optionalString (vhost.onlySSL || vhost.addSSL || vhost.forceSSL) ''
      ssl_certificate ${vhost.sslCertificate};
      ssl_certificate_key ${vhost.sslCertificateKey};
      ''}
      ${lib.concatStrings (lib.mapAttrsToList (path: location: ''
      location ${path} {
        ${lib.optionalString (location.proxyPass != null) "proxy_pass ${location.proxyPass};"}
        ${lib.optionalString (location.proxyPass != null && location.recommendedProxySettings) nginxRecommendedProxyHeaders}
        ${location.extraConfig}
      }
      '') vhost.locations)}
      ${vhost.extraConfig}
    }
  '';
  nginxConfig = ''
    pid /run/nginx/nginx.pid;
    error_log stderr;
    daemon off;
    events {
    }
    http {
      # nixpkgs builds nginx with these paths compiled in (the unit's cache and logs folders).
      client_body_temp_path /var/cache/nginx/client_body;
      proxy_temp_path /var/cache/nginx/proxy;
      fastcgi_temp_path /var/cache/nginx/fastcgi;
      uwsgi_temp_path /var/cache/nginx/uwsgi;
      scgi_temp_path /var/cache/nginx/scgi;
      access_log /var/log/nginx/access.log;
      default_type application/octet-stream;
      ssl_protocols TLSv1.2 TLSv1.3;
      server_tokens off;
      ${lib.optionalString nginx.recommendedProxySettings ''
      proxy_redirect off;
      proxy_connect_timeout 60s;
      proxy_send_timeout 60s;
      proxy_read_timeout 60s;
      proxy_http_version 1.1;
      proxy_set_header "Connection" "";
      ${nginxRecommendedProxyHeaders}
      ''}
      ${lib.concatStrings (lib.mapAttrsToList nginxUpstream nginx.upstreams)}
      ${lib.concatStrings (lib.mapAttrsToList nginxServer nginx.virtualHosts)}
    }
  '';

  # nixos/modules/services/networking/firewall-iptables.nix: the start script (nixpkgs' defaults:
  # drop refused packets, loopback trusted, ping allowed, no reverse-path filter modelled), whose
  # `ip46tables` is iptables for IPv4 and ip6tables for IPv6, with `-w` (wait for the lock).
  firewall = config.networking.firewall;
  firewallStart = "${builtins.storeDir}/firewall-start";
  firewallStop = "${builtins.storeDir}/firewall-stop";
  firewallHelpers = ''
    #!${pkgs.bash}/bin/bash
    set -e
    ip46tables() {
      iptables -w "$@"
      ip6tables -w "$@"
    }
    flush() {
      ip46tables -D INPUT -j nixos-fw 2> /dev/null || true
      for chain in nixos-fw nixos-fw-accept nixos-fw-log-refuse nixos-fw-refuse; do
        ip46tables -F "$chain" 2> /dev/null || true
        ip46tables -X "$chain" 2> /dev/null || true
      done
    }
  '';
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

    # nixos/modules/services/databases/postgresql.nix, as nixpkgs writes it, because the systemd
    # checks (checks/) run it in shared mode: the server (Type=notify, user postgres, its data
    # folder made by initdb on first start, postgresql.conf from `settings` naming the pg_hba and
    # pg_ident files in the store, sandboxed), the oneshot that waits for it and applies
    # ensureDatabases/ensureUsers, and the pg_hba rules it puts around the host's `authentication`
    # lines (a comment before, the defaults after). nixpkgs' config file is the one file of a
    # store folder (`writeTextDir`); here it is a store file of its own.
    (lib.mkIf pg.enable {
      # The package by system.stateVersion, as nixpkgs chooses it.
      services.postgresql.package = lib.mkDefault (
        if lib.versionAtLeast config.system.stateVersion "25.11" then pkgs.postgresql_17
        else if lib.versionAtLeast config.system.stateVersion "24.11" then pkgs.postgresql_16
        else pkgs.postgresql_15);
      services.postgresql.settings = {
        hba_file = pgHbaFile;
        ident_file = pgIdentFile;
        log_destination = lib.mkDefault "stderr";
        # enableTCPIP left at its default.
        listen_addresses = "localhost";
        jit = lib.mkDefault "off";
      };
      services.postgresql.authentication = lib.mkMerge [
        (lib.mkBefore "# Generated file; do not edit!")
        (lib.mkAfter ''
          local all postgres peer map=postgres
          local all all peer
          host all all 127.0.0.1/32 md5
          host all all ::1/128 md5
        '')
      ];
      # The one line nixpkgs adds: the postgres user alone is the superuser by peer (root is not).
      services.postgresql.identMap = lib.mkAfter ''
        postgres postgres postgres
      '';
      users.users.postgres = { isSystemUser = true; group = "postgres"; home = pg.dataDir; };
      users.groups.postgres = { };
      systemd.services.postgresql = {
        description = "PostgreSQL Server";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        environment.PGDATA = pg.dataDir;
        path = [ pg.package ];
        storeFiles = {
          ${pgConfigFile} = lib.concatStringsSep "\n"
            (lib.mapAttrsToList (name: value: "${name} = ${pgValue value}") (lib.filterAttrs (_: value: value != null) pg.settings));
          ${pgHbaFile} = pg.authentication;
          ${pgIdentFile} = pg.identMap;
        };
        preStart = ''
          if ! test -e ${pg.dataDir}/PG_VERSION; then
            # Cleanup the data directory.
            rm -f ${pg.dataDir}/*.conf

            # Initialise the database.
            initdb -U postgres

            # See postStart!
            touch "${pg.dataDir}/.first_startup"
          fi

          ln -sfn "${pgConfigFile}" "${pg.dataDir}/postgresql.conf"
        '';
        # Five start attempts within five start timeouts and 5 s, then it stays down.
        unitConfig = {
          RequiresMountsFor = pg.dataDir;
          StartLimitIntervalSec = 120 * 5 + 5;
          StartLimitBurst = 5;
        };
        serviceConfig = {
          ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
          User = "postgres";
          Group = "postgres";
          RuntimeDirectory = "postgresql";
          Type = "notify";
          KillSignal = "SIGINT";
          KillMode = "mixed";
          TimeoutSec = 120;
          ExecStart = "${pg.package}/bin/postgres";
          Restart = "always";
          CapabilityBoundingSet = [ "" ];
          DevicePolicy = "closed";
          PrivateTmp = true;
          ProtectHome = true;
          ProtectSystem = "strict";
          MemoryDenyWriteExecute = lib.mkDefault (pg.settings.jit == "off");
          NoNewPrivileges = true;
          LockPersonality = true;
          PrivateDevices = true;
          PrivateMounts = true;
          ProcSubset = "pid";
          ProtectClock = true;
          ProtectControlGroups = true;
          ProtectHostname = true;
          ProtectKernelLogs = true;
          ProtectKernelModules = true;
          ProtectKernelTunables = true;
          ProtectProc = "invisible";
          RemoveIPC = true;
          RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_NETLINK" "AF_UNIX" ];
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          SystemCallArchitectures = "native";
          SystemCallFilter = [ "@system-service" "~@privileged @resources" ];
          UMask = "0027";
        } // lib.optionalAttrs (pg.dataDir == "/var/lib/postgresql/${pg.package.psqlSchema}") {
          StateDirectory = "postgresql postgresql/${pg.package.psqlSchema}";
          StateDirectoryMode = "0750";
        } // lib.optionalAttrs (pg.dataDir != "/var/lib/postgresql/${pg.package.psqlSchema}") {
          ReadWritePaths = [ pg.dataDir ];
        };
      };
      systemd.services.postgresql-setup = {
        description = "PostgreSQL Setup Scripts";
        after = [ "postgresql.service" ];
        requires = [ "postgresql.service" ];
        wantedBy = [ "multi-user.target" ];
        path = [ pg.package ];
        environment.PGPORT = toString pg.settings.port;
        # Waits for the server to accept connections (and to be out of recovery).
        script = ''
          check-connection() {
            psql -d postgres -v ON_ERROR_STOP=1 <<-'  EOF'
              SELECT pg_is_in_recovery() \gset
              \if :pg_is_in_recovery
              \i still-recovering
              \endif
            EOF
          }
          while ! check-connection 2> /dev/null; do
              if ! systemctl is-active --quiet postgresql.service; then exit 1; fi
              sleep 0.1
          done

          if test -e "${pg.dataDir}/.first_startup"; then
            rm -f "${pg.dataDir}/.first_startup"
          fi
        '' + lib.concatMapStrings (database: ''
          psql -tAc "SELECT 1 FROM pg_database WHERE datname = '${database}'" | grep -q 1 || psql -tAc 'CREATE DATABASE "${database}"'
        '') pg.ensureDatabases
        + lib.concatMapStrings (user: ''
          psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='${user.name}'" | grep -q 1 || psql -tAc 'CREATE USER "${user.name}"'
        '' + lib.optionalString user.ensureDBOwnership ''
          psql -tAc 'ALTER DATABASE "${user.name}" OWNER TO "${user.name}";'
        '') pg.ensureUsers;
        serviceConfig = { Type = "oneshot"; RemainAfterExit = true; User = "postgres"; Group = "postgres"; };
      };
    })

    # nixos/modules/services/databases/redis.nix: one `redis-<name>` unit and user per enabled
    # server, its port in the firewall on request. The unit as nixpkgs writes it: a root
    # (`+`) pre-start script that writes the config (including the store config and, from
    # `requirePassFile`, the password) into the state folder, then redis-server on it, sandboxed.
    {
      # The user and group nixpkgs creates when left at their defaults (a group set apart must
      # exist already).
      users.users = lib.mapAttrs' (name: server: lib.nameValuePair server.user { isSystemUser = true; inherit (server) group; }) redisServers;
      users.groups = lib.mapAttrs' (name: server: lib.nameValuePair server.group { }) redisServers;
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
              Group = server.group;
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

    # nixos/modules/services/web-servers/nginx/default.nix: user and group `nginx`, the config
    # tested before start (`preStart`), the server run as that user, sandboxed.
    (lib.mkIf nginx.enable {
      users.users.nginx = { isSystemUser = true; group = nginx.group; };
      users.groups.${nginx.group} = { };
      systemd.services.nginx = {
        description = "Nginx Web Server";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        preStart = "${nginxExec} -t\n";
        storeFiles.${nginxConfigFile} = nginxConfig;
        serviceConfig = {
          ExecStart = nginxExec;
          ExecReload = [ "${nginxExec} -t" "${pkgs.coreutils}/bin/kill -HUP $MAINPID" ];
          Restart = "always";
          RestartSec = "10s";
          User = "nginx";
          Group = nginx.group;
          RuntimeDirectory = "nginx";
          RuntimeDirectoryMode = "0750";
          CacheDirectory = "nginx";
          CacheDirectoryMode = "0750";
          LogsDirectory = "nginx";
          LogsDirectoryMode = "0750";
          ProcSubset = "pid";
          ProtectProc = "invisible";
          UMask = "0027";
          AmbientCapabilities = [ "CAP_NET_BIND_SERVICE" "CAP_SYS_RESOURCE" ];
          CapabilityBoundingSet = [ "CAP_NET_BIND_SERVICE" "CAP_SYS_RESOURCE" ];
          NoNewPrivileges = true;
          ProtectSystem = "strict";
          ProtectHome = true;
          PrivateTmp = true;
          PrivateDevices = true;
          ProtectHostname = true;
          ProtectClock = true;
          ProtectKernelTunables = true;
          ProtectKernelModules = true;
          ProtectKernelLogs = true;
          ProtectControlGroups = true;
          RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" ];
          RestrictNamespaces = true;
          LockPersonality = true;
          MemoryDenyWriteExecute = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          RemoveIPC = true;
          PrivateMounts = true;
          SystemCallArchitectures = "native";
          SystemCallFilter = [ "~@cpu-emulation @debug @keyring @mount @obsolete @privileged @setuid" ];
        };
      };
    })

    # nixos/modules/services/networking/firewall-nftables.nix: iptables commands have no place
    # in an nftables firewall (its own unit is not modelled: the systemd checks run iptables').
    (lib.mkIf (firewall.enable && config.networking.nftables.enable) {
      assertions = [{
        assertion = firewall.extraCommands == "";
        message = "extraCommands is incompatible with the nftables based firewall: ${firewall.extraCommands}";
      }];
    })

    # nixos/modules/services/networking/firewall-iptables.nix: the oneshot that installs the
    # rules before the network comes up (skipped without CAP_NET_ADMIN), and removes them on stop.
    (lib.mkIf (firewall.enable && !config.networking.nftables.enable) {
      systemd.services.firewall = {
        description = "Firewall";
        wantedBy = [ "sysinit.target" ];
        wants = [ "network-pre.target" ];
        after = [ "systemd-modules-load.service" ];
        before = [ "network-pre.target" "shutdown.target" ];
        conflicts = [ "shutdown.target" ];
        path = [ pkgs.iptables ];
        unitConfig.ConditionCapability = "CAP_NET_ADMIN";
        unitConfig.DefaultDependencies = false;
        storeFiles.${firewallStart} = firewallHelpers + ''
          flush
          ip46tables -N nixos-fw-accept
          ip46tables -A nixos-fw-accept -j ACCEPT
          ip46tables -N nixos-fw-refuse
          ip46tables -A nixos-fw-refuse -j DROP
          ip46tables -N nixos-fw-log-refuse
          ip46tables -A nixos-fw-log-refuse -p tcp --syn -j LOG --log-level info --log-prefix "refused connection: "
          ip46tables -A nixos-fw-log-refuse -m pkttype ! --pkt-type unicast -j nixos-fw-refuse
          ip46tables -A nixos-fw-log-refuse -j nixos-fw-refuse
          ip46tables -N nixos-fw
          ip46tables -A nixos-fw -i lo -j nixos-fw-accept
          ip46tables -A nixos-fw -m conntrack --ctstate ESTABLISHED,RELATED -j nixos-fw-accept
          ${lib.concatMapStrings (port: "ip46tables -A nixos-fw -p tcp --dport ${toString port} -j nixos-fw-accept\n") firewall.allowedTCPPorts}
          ${lib.concatMapStrings (port: "ip46tables -A nixos-fw -p udp --dport ${toString port} -j nixos-fw-accept\n") firewall.allowedUDPPorts}
          iptables -w -A nixos-fw -p icmp --icmp-type echo-request -j nixos-fw-accept
          ip6tables -w -A nixos-fw -p icmpv6 --icmpv6-type echo-request -j nixos-fw-accept
          ${firewall.extraCommands}
          ip46tables -A nixos-fw -j nixos-fw-log-refuse
          ip46tables -A INPUT -j nixos-fw
        '';
        storeFiles.${firewallStop} = firewallHelpers + ''
          flush
        '';
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "@${firewallStart} firewall-start";
          ExecStop = "@${firewallStop} firewall-stop";
        };
      };
    })
  ];
}
