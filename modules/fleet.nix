# A stack placed on several hosts (`stackr.fleet`, set by the generated nix/fleet.nix): which
# host runs which part, and what that implies on this host besides the parts themselves (which
# units.nix, postgresql.nix and redis.nix place): every host's name resolving to its address, the
# load balancer in front of this host's API replicas, and a firewall that opens each port only to
# the hosts whose processes use it. Connections between hosts are TLS with certificates of the
# deployment's CA (`stackr secrets`), verified by host name.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.stackr;
  fleet = cfg.fleet;
  stackrLib = import ./lib.nix { inherit lib; };
  inherit (stackrLib) inFleet partHost clientHosts secretPath;


  replicasOptions = extra: types.submodule {
    options = {
      host = mkOption { type = types.str; description = "The host running them."; };
      replicas = mkOption { type = types.ints.positive; default = 1; description = "How many run there."; };
    } // extra;
  };
  placedOn = description: mkOption {
    type = types.submodule { options.host = mkOption { type = types.str; inherit description; }; };
  };
  placementOptions = {
    options = {
      api = mkOption {
        type = replicasOptions {
          ports = mkOption {
            type = types.listOf types.port;
            description = "Loopback port of each replica, behind the load balancer on the service's port.";
          };
        };
        description = "The service's API replicas.";
      };
      worker = mkOption {
        type = types.nullOr (replicasOptions { });
        default = null;
        description = "The service's workers, all consuming its one queue; null without a worker.";
      };
      postgres = placedOn "The host running the service's PostgreSQL server.";
      redis = placedOn "The host running the service's Redis.";
    };
  };

  here = fleet.thisHost;
  address = host: fleet.hosts.${host}.address;
  names = lib.attrNames cfg.services;
  auth = stackrLib.authOf (lib.mapAttrs (name: svc: svc // { inherit name; }) cfg.services);
  # Addresses of the other hosts among `hosts`.
  others = hosts: map address (lib.filter (h: h != here) hosts);

  # The ports this host opens, each to the hosts that need it: a service's PostgreSQL and Redis
  # to its API and worker hosts; auth's API to the hosts of every base service's API and worker,
  # and so each base service's API (the services call each other, `SERVICE_URLS`).
  openings =
    lib.concatMap
      (name:
        let svc = cfg.services.${name}; clients = others (clientHosts cfg name); in
        lib.optional (partHost cfg name "postgres" == here && clients != [ ]) { port = svc.postgres.port; from = clients; }
        ++ lib.optional (partHost cfg name "redis" == here && clients != [ ]) { port = svc.redis.port; from = clients; })
      names
    ++ lib.optionals (baseServiceHosts != [ ])
      (map (name: { port = cfg.services.${name}.port; from = baseServiceHosts; }) apisHere);

  # The other hosts running a base service's API or worker: they call every API.
  baseServiceHosts = lib.unique (others (lib.concatMap (clientHosts cfg) (stackrLib.baseNames cfg.services)));

  # The load balancer of each API on this host: its port, in front of the replicas' loopback
  # ports, with TLS (this host's certificate), since the services of other hosts call it.
  apisHere = lib.filter (name: partHost cfg name "api" == here) names;

  # The interfaces the host's firewall admits everything on, past the openings above (loopback
  # reaches only this host).
  trustedInterfaces = lib.remove "lo" config.networking.firewall.trustedInterfaces;
  tlsCredentials = [ "tls-host.crt:${fleet.tls.certFile}" "tls-host.key:${fleet.tls.keyFile}" ];

  # Each value of `fleetWide` that another host has otherwise (or not at all), with the hosts
  # having each value.
  disagreements =
    let
      show = value: if value == null then "unset" else builtins.toJSON value;
      others = fleet.peerPlacements;
      keys = lib.unique (lib.attrNames fleet.fleetWide ++ lib.concatMap lib.attrNames (lib.attrValues others));
      differing = key: lib.filter (host: (others.${host}.${key} or null) != (fleet.fleetWide.${key} or null)) (lib.attrNames others);
    in
    lib.concatMap
      (key:
        let hosts = differing key; in
        lib.optional (hosts != [ ])
          "${key} is ${show (fleet.fleetWide.${key} or null)} on ${here} but ${lib.concatMapStringsSep ", " (host: "${show (others.${host}.${key} or null)} on ${host}") hosts}")
      keys;
in
{
  options.stackr.fleet = {
    thisHost = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The host this configuration is for; null: a single host running every part.";
    };
    hosts = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          address = mkOption { type = types.str; description = "The address the other hosts reach this one at."; };
          tags = mkOption { type = types.listOf types.str; default = [ ]; description = "colmena tags: the services with a part here."; };
        };
      });
      default = { };
      description = "Every host of the deployment, by name (its certificate's name).";
    };
    services = mkOption {
      type = types.attrsOf (types.submodule placementOptions);
      default = { };
      description = "Where each service's parts run.";
    };
    keysSource = mkOption {
      type = types.str;
      default = ".stackr/deploy";
      description = "Folder on the deploying machine (relative to where colmena runs) holding the deployment's secrets; read by modules/colmena.nix.";
    };
    keyFiles = mkOption {
      type = types.listOf types.str;
      readOnly = true;
      description = "The secret files stackr's units on this host read, by name in stackr.secretsDir: what must be provisioned on it (modules/colmena.nix uploads them).";
    };
    credentialSources = mkOption {
      type = types.listOf types.str;
      default = [ ];
      internal = true;
      description = ''
        The files stackr's units on this host load (their `LoadCredential=` sources), each module
        listing those of the units it defines: what `keyFiles` is made of. Not read back from
        `systemd.services`: in a colmena hive that set holds a `<key>-key` unit per
        `deployment.keys` entry (colmena's own module), whose names come from `keyFiles`, and the
        evaluation would recurse forever.
      '';
    };
    fleetWide = mkOption {
      type = types.attrsOf types.str;
      readOnly = true;
      description = ''
        The values every host of the fleet must agree on, as this host's configuration has them,
        by option name: each host's address, the host of each service's parts, and each
        service's ports (the hosts reach, firewall and admit each other by them).
      '';
    };
    peerPlacements = mkOption {
      type = types.attrsOf (types.attrsOf types.str);
      default = { };
      internal = true;
      description = ''
        `fleetWide` of each other host's configuration, by host: set by the generated
        nix/fleet.nix, which evaluates every host. This host refuses to differ from them: a
        value changed in one host's configuration alone would leave the others connecting to,
        firewalling and admitting by the old one.
      '';
    };
    processUnits = mkOption {
      type = types.listOf types.str;
      readOnly = true;
      description = "The API replicas' and workers' units on this host.";
    };
    tls = {
      caFile = secretPath "The deployment CA's certificate, which every cross-host connection is verified against." "${cfg.secretsDir}/tls-ca.crt";
      certFile = secretPath "This host's certificate, issued by the deployment CA for the host's name and address." "${cfg.secretsDir}/tls-host.crt";
      keyFile = secretPath "This host's private key." "${cfg.secretsDir}/tls-host.key";
    };
  };

  config = lib.mkMerge [
    {
      # Credential sources of stackr's units on this host, and the Redis servers' password files.
      stackr.fleet.keyFiles =
        let
          sources = fleet.credentialSources
          ++ lib.mapAttrsToList (_: server: server.requirePassFile) (lib.filterAttrs (_: s: s.enable && s.requirePassFile != null) config.services.redis.servers);
        in
        map (lib.removePrefix "${cfg.secretsDir}/") (lib.unique (lib.filter (lib.hasPrefix "${cfg.secretsDir}/") sources));
      stackr.fleet.fleetWide =
        let
          parts = name: placed: lib.filter (part: placed.${part} != null) [ "api" "worker" "postgres" "redis" ];
          ports = name: svc:
            [ (lib.nameValuePair "stackr.services.${name}.port" (toString svc.port))
              (lib.nameValuePair "stackr.services.${name}.redis.port" (toString svc.redis.port)) ]
            ++ lib.optional (svc.postgres.port != null) (lib.nameValuePair "stackr.services.${name}.postgres.port" (toString svc.postgres.port));
        in
        lib.listToAttrs (
          lib.mapAttrsToList (host: h: lib.nameValuePair "stackr.fleet.hosts.${host}.address" h.address) fleet.hosts
          ++ lib.concatLists (lib.mapAttrsToList
            (name: placed: map (part: lib.nameValuePair "stackr.fleet.services.${name}.${part}.host" placed.${part}.host) (parts name placed))
            fleet.services)
          ++ lib.concatLists (lib.mapAttrsToList ports cfg.services));
      stackr.fleet.processUnits = lib.concatMap
        (name: stackrLib.roleUnits cfg name "api" ++ lib.optionals cfg.services.${name}.worker.enable (stackrLib.roleUnits cfg name "worker"))
        names;
    }
    (lib.mkIf (cfg.enable && inFleet cfg) {
      assertions = [
        {
          assertion = fleet.hosts ? ${here};
          message = "stackr.fleet.thisHost = \"${here}\" is not one of stackr.fleet.hosts.";
        }
        {
          assertion = disagreements == [ ];
          message = "stackr: the hosts of the fleet disagree: ${lib.concatStringsSep "; " disagreements}. Every host must have the same value, since the hosts reach, firewall and admit each other by it: change it in stackr.config.json (then `stackr generate`), or in a module every host's configuration imports.";
        }
        {
          assertion = lib.all (name: stackrLib.replicaPortsFault cfg name == null) apisHere;
          message = "stackr: ${lib.concatStringsSep "; " (lib.filter (f: f != null) (map (stackrLib.replicaPortsFault cfg) apisHere))}.";
        }
        {
          assertion = lib.all (name: fleet.services ? ${name}) names;
          message = "stackr.fleet.services must place every service of stackr.services; not placed: ${lib.concatStringsSep ", " (lib.filter (name: !(fleet.services ? ${name})) names)}.";
        }
        {
          assertion = stackrLib.perService cfg;
          message = "stackr.fleet needs per-service PostgreSQL servers (stackr.postgresql.mode = \"per-service\").";
        }
        {
          assertion = !cfg.secrets.generate;
          message = "stackr.secrets.generate would give each host its own passwords: on several hosts, provision the secrets of `stackr secrets` (modules/colmena.nix uploads them).";
        }
      ];

      warnings = lib.optional (!config.networking.firewall.enable)
        "stackr: networking.firewall is off on ${here}: every port of the stack here (its PostgreSQL and Redis servers, its APIs) is open to every host, not only to the hosts that use it; the servers' own passwords and pg_hba rules still apply."
      ++ lib.optional (config.networking.firewall.enable && trustedInterfaces != [ ])
        "stackr: networking.firewall.trustedInterfaces (${lib.concatStringsSep ", " trustedInterfaces}) on ${here}: every port of the stack here (its PostgreSQL and Redis servers, its APIs) is open to every host on them, not only to the hosts that use it; the servers' own address fences, passwords and pg_hba rules still apply.";

      networking.hosts = lib.mapAttrs' (name: host: lib.nameValuePair host.address [ name ]) fleet.hosts;

      # Connections to other hosts leave from the placed address, which their firewalls and
      # pg_hba admit: NixOS's default ("default") makes a temporary (privacy) address the source
      # wherever the network hands out addresses (SLAAC). "enabled" still makes them, for other
      # programs that ask for one.
      networking.tempAddresses = lib.mkIf (lib.hasInfix ":" fleet.hosts.${here}.address) (lib.mkDefault "enabled");

      networking.firewall.extraCommands = lib.mkIf (!config.networking.nftables.enable)
        (lib.concatMapStrings (o: stackrLib.allowFrom o.port o.from) openings);
      networking.firewall.extraInputRules = lib.mkIf config.networking.nftables.enable
        (lib.concatMapStrings (o: stackrLib.allowFromNftables o.port o.from) openings);

      services.nginx = lib.mkIf (apisHere != [ ]) {
        enable = true;
        upstreams = lib.listToAttrs (map
          (name: lib.nameValuePair "stackr-${name}" {
            # Passive health checks: a replica failing twice is left out for 10 s.
            servers = lib.listToAttrs (map
              (address: lib.nameValuePair address { max_fails = 2; fail_timeout = "10s"; })
              (if stackrLib.behindBalancerSocket cfg name
              then map (unit: "unix:${stackrLib.replicaSocket unit}") (stackrLib.roleUnits cfg name "api")
              else map (port: "127.0.0.1:${toString port}") fleet.services.${name}.api.ports));
          })
          apisHere);
        virtualHosts = lib.listToAttrs (map
          (name:
            lib.nameValuePair "stackr-${name}" {
              # IPv6 too on a host placed on an IPv6 address (other hosts reach it there); not
              # elsewhere, where IPv6 may be off and nginx would fail to bind it.
              listen = map (addr: { inherit addr; port = cfg.services.${name}.port; ssl = true; })
                ([ "0.0.0.0" ] ++ lib.optional (lib.hasInfix ":" fleet.hosts.${here}.address) "[::]");
              locations."/" = {
                proxyPass = "http://stackr-${name}";
                # The headers are this location's own lines below, whatever the host's
                # `services.nginx.recommendedProxySettings` (which would otherwise add nixpkgs'
                # set here too, sending Host and X-Forwarded-For twice). X-Forwarded-For: the
                # client's address appended, which auth believes from its socket file, which
                # nginx alone may open (`stackrLib.behindBalancerSocket`).
                recommendedProxySettings = false;
                # A request a replica could not answer goes to the next one.
                extraConfig = ''
                  proxy_next_upstream error timeout http_502 http_503 http_504;
                  proxy_set_header Host $host;
                  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                '';
              };
              onlySSL = true;
              sslCertificate = "/run/credentials/nginx.service/tls-host.crt";
              sslCertificateKey = "/run/credentials/nginx.service/tls-host.key";
            })
          apisHere);
      };
      systemd.services.nginx = lib.mkIf (apisHere != [ ]) {
        serviceConfig.LoadCredential = tlsCredentials;
      };
      stackr.fleet.credentialSources = lib.mkIf (apisHere != [ ]) (map stackrLib.credentialSource tlsCredentials);
    })
  ];
}
