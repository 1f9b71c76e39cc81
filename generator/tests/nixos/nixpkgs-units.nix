# What nixpkgs' own modules add to a system from the options stackr sets: the units and users that
# stackr's units name or depend on. Only facts the property checks need (names, users, state
# folders, ports, ordering, default pg_hba rules) are modelled; each block names the nixpkgs file.
{ config, lib, ... }:
let
  pg = config.services.postgresql;
  redisServers = lib.filterAttrs (_: server: server.enable) config.services.redis.servers;
  redisName = name: if name == "" then "redis" else "redis-${name}";
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
    # server (Type=notify, StateDirectory redis-<name>), and its port in the firewall on request.
    {
      users.users = lib.mapAttrs' (name: server: lib.nameValuePair server.user { isSystemUser = true; group = server.user; }) redisServers;
      users.groups = lib.mapAttrs' (name: server: lib.nameValuePair server.user { }) redisServers;
      systemd.services = lib.mapAttrs'
        (name: server: lib.nameValuePair (redisName name) {
          description = "Redis Server - ${redisName name}";
          wantedBy = [ "multi-user.target" ];
          after = [ "network.target" ];
          serviceConfig = {
            Type = "notify";
            User = server.user;
            Group = server.user;
            StateDirectory = redisName name;
          };
        })
        redisServers;
      networking.firewall.allowedTCPPorts = lib.concatMap (server: lib.optional server.openFirewall server.port) (lib.attrValues redisServers);
    }
  ];
}
