# One Redis per service: `services.redis.servers.<name>`, reached through its Unix socket, password
# from a file, with the append-only file on so that queued jobs survive a crash (snapshots alone
# lose the writes since the last one). In a fleet, a Redis with clients on other hosts speaks TLS
# only, with this host's certificate, also on the host's address (the firewall admits its
# clients).
{ config, lib, options, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  here = lib.filterAttrs (name: _: stackrLib.runsHere cfg name "redis") cfg.services;
  # Servers the host enables itself under a service's name: the module system would merge them
  # into the service's without a word (the host's clients meeting the stack's password, sharing
  # the queue's keyspace). A host setting without an `enable` of its own only tunes the
  # service's server.
  # A definition as written, before the module system resolves it: the attribute sets it gives,
  # through `lib.mkIf` (a false condition gives none), `lib.mkMerge` and priorities or orders, at
  # any depth. A host's module usually guards its server (`lib.mkIf cfg.enable { enable = true;
  # … }`) or merges it from parts, at the server or at the servers.
  givenSets = value:
    let type = value._type or null; in
    if type == "if" then lib.optionals value.condition (givenSets value.content)
    else if type == "merge" then lib.concatMap givenSets value.contents
    else if type == "override" || type == "order" then givenSets value.content
    else [ value ];
  hostServers = lib.filter
    (name: lib.any
      (def:
        def.file != toString ./redis.nix
        && lib.any (server: server ? enable)
          (lib.concatMap (servers: givenSets (servers.${name} or { })) (givenSets def.value)))
      options.services.redis.servers.definitionsWithLocations)
    (lib.attrNames here);
  tlsServers = lib.filterAttrs (name: _: stackrLib.redisTls cfg name) here;
  credentials = name: "/run/credentials/${stackrLib.redisUnit name}";
  # What a TLS server loads, listed again in stackr.fleet.credentialSources.
  tlsCredentials = [
    "tls-host.crt:${cfg.fleet.tls.certFile}"
    "tls-host.key:${cfg.fleet.tls.keyFile}"
    "tls-ca:${cfg.fleet.tls.caFile}"
  ];
  unitName = name: lib.removeSuffix ".service" (stackrLib.redisUnit name);
in
{
  config = lib.mkIf cfg.enable {
    assertions = map
      (name: {
        assertion = false;
        message = "stackr: the host enables services.redis.servers.${name} itself, the Redis server of stackr's service `${name}`: the two would merge into one. Rename the host's server (or, to tune the service's, set its options without `enable`).";
      })
      hostServers;
    services.redis.servers = lib.mapAttrs
      (name: svc:
        let tls = stackrLib.redisTls cfg name; in
        {
          enable = true;
          # Port 0: no plain TCP listener. This host's clients use the Unix socket (nixpkgs'
          # default path, in a folder of the server's group); other hosts' use `tls-port`.
          port = 0;
          bind = if tls then "127.0.0.1 ${cfg.fleet.hosts.${cfg.fleet.thisHost}.address}" else "127.0.0.1";
          requirePassFile = svc.redis.passwordFile;
          appendOnly = true;
          settings = lib.optionalAttrs tls {
            tls-port = svc.redis.port;
            tls-cert-file = "${credentials name}/tls-host.crt";
            tls-key-file = "${credentials name}/tls-host.key";
            tls-ca-cert-file = "${credentials name}/tls-ca";
            # Clients prove themselves with the password, not a certificate.
            tls-auth-clients = "no";
          };
        })
      here;
    systemd.services = lib.mkMerge [
      # nixpkgs' unit is never restarted: a Redis that crashed, or failed its start at boot, left
      # its service without a queue until someone started it.
      (lib.mapAttrs' (name: _: lib.nameValuePair (unitName name) (stackrLib.retriedUntilStarted 300)) here)
      (lib.mapAttrs'
        (name: _: lib.nameValuePair (unitName name) {
          # Bound to the host's address too, which may not be there yet at network.target after
          # a reboot: Redis would fail to start.
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ];
          serviceConfig = {
            LoadCredential = tlsCredentials;
            # Only this host and the service's own hosts, as its PostgreSQL: the firewall is
            # not the only fence when a host trusts its network interface or turns the firewall
            # off, and the server opens no connection elsewhere (`REPLICAOF` a host of a
            # password holder's choosing).
            IPAddressDeny = "any";
            IPAddressAllow = stackrLib.storePeers cfg name;
          };
        })
        tlsServers)
    ];
    stackr.fleet.credentialSources = lib.optionals (tlsServers != { }) (map stackrLib.credentialSource tlsCredentials);
  };
}
