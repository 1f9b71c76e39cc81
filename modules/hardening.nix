# systemd sandbox settings of stackr's units (the reasons are in modules/README.md).
let
  # lib.mkDefault, as nixpkgs' lib/modules.nix defines it (`mkOverride 1000`): this file is
  # imported without lib. A host may relax a setting for a unit with a plain definition
  # (`systemd.services.stackr-core-api.serviceConfig.ProtectHome = false;`), which wins over
  # these instead of conflicting with them. List settings stay plain definitions: a host's list
  # is appended to them (systemd's repeatable settings, as nixpkgs merges them); `lib.mkForce`
  # replaces them.
  mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
  defaults = builtins.mapAttrs (_: value: if builtins.isList value then value else mkDefault value);

  process = {
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    PrivateUsers = true;
    NoNewPrivileges = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectProc = "invisible";
    ProcSubset = "pid";
    RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    RemoveIPC = true;
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [ "@system-service" "~@privileged" "~@resources" ];
    CapabilityBoundingSet = "";
    UMask = "0077";
    LimitNOFILE = 65536;
  };
in
{
  # Every stackr process: API, worker, and per-service PostgreSQL.
  process = defaults process;

  # The oneshots run as root that only write files in folders of their own (`stackr-secrets`,
  # `stackr-stale-keys`): the processes' sandbox, with no network at all. Only the folders they
  # write are writable (the unit's `StateDirectory=` or `ReadWritePaths=`). Home folders are
  # read-only, not hidden: an operator may keep the files there (`/root/keys/...`), which the
  # unit must see, and make when missing (a `ReadWritePaths=` folder under a read-only one is
  # writable).
  fileWriter = defaults (process // {
    ProtectHome = "read-only";
    PrivateNetwork = true;
    RestrictAddressFamilies = [ "AF_UNIX" ];
  });

  # The oneshots run as root that only ask systemd to restart units (`systemctl`, over its
  # private socket in /run/systemd, a Unix socket, which a read-only file system still lets them
  # connect to): the file writers' sandbox with home folders hidden and nothing writable at all.
  systemdClient = defaults (process // {
    PrivateNetwork = true;
    RestrictAddressFamilies = [ "AF_UNIX" ];
  });

  # Units whose every peer is on this host.
  localhostOnly = {
    IPAddressDeny = "any";
    IPAddressAllow = "localhost";
  };
}
