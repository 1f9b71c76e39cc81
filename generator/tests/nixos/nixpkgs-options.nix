# The NixOS options that stackr's modules read and set, declared with the types nixpkgs gives them,
# so that nixpkgs' real module system (`lib.evalModules`) checks every definition the modules make
# as a NixOS system would: unknown or renamed options, wrong types, conflicting values, priorities.
# Only these declarations are written here; their types follow nixpkgs (file named above each
# group; checked against nixpkgs sources of 2024-2025: the PostgreSQL module with `settings.port`
# and postgresql-setup.service, systemd-unit-options with `notify-reload`). An option nixpkgs has
# but stackr never touches is left out, so setting it is reported as missing: add it here (typed
# as upstream) first.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption types;

  # nixos/lib/systemd-lib.nix: `unitNameType`.
  unitName = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";
  unitNames = mkOption { type = types.listOf unitName; default = [ ]; };

  # nixos/lib/systemd-unit-options.nix: `unitOption`. When any definition is a list, the setting
  # is repeatable and every definition is appended (a single value as a one-element list);
  # otherwise all definitions must agree.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge = loc: defs:
      let kept = lib.filterOverrides defs; in
      if lib.any (d: lib.isList d.value) kept then lib.concatMap (d: lib.toList d.value) kept
      else lib.mergeEqualOption loc kept;
  };

  # nixos/lib/systemd-unit-options.nix: `checkService` only accepts these `Type=` and `Restart=`.
  # It checks each definition before the merge, so, as nixpkgs' `checkUnitConfig` does, a value
  # wrapped by lib.mkDefault/mkOverride or lib.mkIf is checked unwrapped.
  serviceTypes = [ "exec" "simple" "forking" "oneshot" "dbus" "notify" "notify-reload" "idle" ];
  restartValues = [ "no" "on-success" "on-failure" "on-abnormal" "on-abort" "always" ];
  unwrapped = lib.mapAttrs (_: v: if lib.elem (v._type or "") [ "override" "if" ] then v.content else v);
  checkService = definition: let config = unwrapped definition; in
    (!(config ? Type) || lib.elem config.Type serviceTypes)
    && (!(config ? Restart) || lib.elem config.Restart restartValues);

  # nixos/lib/systemd-unit-options.nix: `commonUnitOptions`, `serviceOptions`,
  # `stage2ServiceOptions`. A non-empty `script`/`preStart`/`postStart` becomes
  # ExecStart/ExecStartPre/ExecStartPost (a store script), which is why a unit cannot have both
  # `script` and its own `ExecStart`.
  serviceModule = { name, config, ... }:
    let
      # nixos/lib/systemd-lib.nix `makeJobScript`: a shell script in the store running the text
      # under `set -e`. Its path, and its content in `storeFiles`.
      jobScript = option: kind: field:
        let path = "${builtins.storeDir}/unit-script-${name}-${kind}"; in
        lib.mkIf (config.${option} != "") {
          serviceConfig.${field} = if field == "ExecStart" then path else [ path ];
          storeFiles.${path} = "#!${pkgs.bash}/bin/bash\nset -e\n${config.${option}}";
        };
    in
    {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      description = mkOption { type = types.singleLineStr; default = ""; };
      wantedBy = unitNames;
      requiredBy = unitNames;
      upheldBy = unitNames;
      requires = unitNames;
      wants = unitNames;
      upholds = unitNames;
      after = unitNames;
      before = unitNames;
      bindsTo = unitNames;
      partOf = unitNames;
      conflicts = unitNames;
      onFailure = unitNames;
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      startLimitBurst = mkOption { type = types.int; };
      startLimitIntervalSec = mkOption { type = types.int; };
      restartTriggers = mkOption { type = types.listOf types.unspecified; default = [ ]; };
      # A change of these alone makes switch-to-configuration reload the unit, not restart it.
      reloadTriggers = mkOption { type = types.listOf unitOption; default = [ ]; };
      restartIfChanged = mkOption { type = types.bool; default = true; };
      stopIfChanged = mkOption { type = types.bool; default = true; };
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
      };
      path = mkOption { type = types.listOf (types.oneOf [ types.package types.str ]); default = [ ]; };
      serviceConfig = mkOption {
        type = types.addCheck (types.attrsOf unitOption) checkService;
        default = { };
      };
      script = mkOption { type = types.lines; default = ""; };
      scriptArgs = mkOption { type = types.str; default = ""; };
      preStart = mkOption { type = types.lines; default = ""; };
      postStart = mkOption { type = types.lines; default = ""; };
      preStop = mkOption { type = types.lines; default = ""; };
      postStop = mkOption { type = types.lines; default = ""; };
      # Not a NixOS option: the files the unit's store paths hold (path -> content), which NixOS
      # builds as derivations and the systemd checks (checks/src/systemd/) write out.
      storeFiles = mkOption { type = types.attrsOf types.str; internal = true; default = { }; };
    };
    config = lib.mkMerge [
      (jobScript "script" "start" "ExecStart")
      (jobScript "preStart" "pre-start" "ExecStartPre")
      (jobScript "postStart" "post-start" "ExecStartPost")
    ];
  };
in
{
  imports = [
    # nixos/modules/services/databases/postgresql.nix: the old top-level port was renamed.
    (lib.mkRenamedOptionModule [ "services" "postgresql" "port" ] [ "services" "postgresql" "settings" "port" ])
  ];

  options = {
    # nixos/modules/misc/assertions.nix
    assertions = mkOption { type = types.listOf types.unspecified; internal = true; default = [ ]; };
    warnings = mkOption { type = types.listOf types.str; internal = true; default = [ ]; };

    # nixos/modules/system/boot/systemd.nix (`systemd.services`, typed by systemd-unit-options.nix)
    systemd.services = mkOption { type = types.attrsOf (types.submodule serviceModule); default = { }; };
    # nixos/lib/systemd-unit-options.nix: `socketOptions` (ListenStream= from `listenStreams`).
    systemd.sockets = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          enable = mkOption { type = types.bool; default = true; };
          description = mkOption { type = types.singleLineStr; default = ""; };
          wantedBy = unitNames;
          requiredBy = unitNames;
          before = unitNames;
          listenStreams = mkOption { type = types.listOf types.str; default = [ ]; };
          socketConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
        };
      });
      default = { };
    };

    # nixos/modules/services/networking/firewall.nix (extraCommands: firewall-iptables.nix)
    networking.firewall = {
      enable = mkOption { type = types.bool; default = true; };
      allowedTCPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
      allowedUDPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
      extraCommands = mkOption { type = types.lines; default = ""; };
      trustedInterfaces = mkOption { type = types.listOf types.str; default = [ ]; };
      # firewall-nftables.nix
      extraInputRules = mkOption { type = types.lines; default = ""; };
    };

    # nixos/modules/services/networking/nftables.nix
    networking.nftables.enable = mkOption { type = types.bool; default = false; };

    # nixos/modules/config/networking.nix
    networking.hosts = mkOption { type = types.attrsOf (types.listOf types.str); default = { }; };

    # nixos/modules/tasks/network-interfaces.nix (its default where IPv6 is on)
    networking.tempAddresses = mkOption { type = types.enum [ "default" "enabled" "disabled" ]; default = "default"; };

    # nixos/modules/services/web-servers/nginx/default.nix, vhost-options.nix, location-options.nix
    services.nginx = {
      enable = mkEnableOption "Nginx Web Server";
      group = mkOption { type = types.str; default = "nginx"; };
      recommendedProxySettings = mkOption { type = types.bool; default = false; };
      upstreams = mkOption {
        type = types.attrsOf (types.submodule {
          options = {
            servers = mkOption {
              type = types.attrsOf (types.submodule {
                freeformType = types.attrsOf (types.oneOf [ types.bool types.int types.str ]);
                options.backup = mkOption { type = types.bool; default = false; };
              });
            };
            extraConfig = mkOption { type = types.lines; default = ""; };
          };
        });
        default = { };
      };
      virtualHosts = mkOption {
        type = types.attrsOf (types.submodule {
          options = {
            listen = mkOption {
              type = types.listOf (types.submodule {
                options = {
                  addr = mkOption { type = types.str; };
                  port = mkOption { type = types.nullOr types.port; default = null; };
                  ssl = mkOption { type = types.bool; default = false; };
                  proxyProtocol = mkOption { type = types.bool; default = false; };
                  extraParameters = mkOption { type = types.listOf types.str; default = [ ]; };
                };
              });
              default = [ ];
            };
            onlySSL = mkOption { type = types.bool; default = false; };
            addSSL = mkOption { type = types.bool; default = false; };
            forceSSL = mkOption { type = types.bool; default = false; };
            sslCertificate = mkOption { type = types.path; };
            sslCertificateKey = mkOption { type = types.path; };
            extraConfig = mkOption { type = types.lines; default = ""; };
            locations = mkOption {
              type = types.attrsOf (types.submodule {
                options = {
                  proxyPass = mkOption { type = types.nullOr types.str; default = null; };
                  recommendedProxySettings = mkOption { type = types.bool; default = config.services.nginx.recommendedProxySettings; };
                  extraConfig = mkOption { type = types.lines; default = ""; };
                };
              });
              default = { };
            };
          };
        });
        default = { };
      };
    };

    # nixos/modules/config/users-groups.nix
    users.users = mkOption {
      type = types.attrsOf (types.submodule ({ name, ... }: {
        options = {
          name = mkOption { type = types.passwdEntry types.str; default = name; };
          description = mkOption { type = types.passwdEntry types.str; default = ""; };
          uid = mkOption { type = types.nullOr types.int; default = null; };
          isSystemUser = mkOption { type = types.bool; default = false; };
          isNormalUser = mkOption { type = types.bool; default = false; };
          group = mkOption { type = types.str; default = ""; };
          extraGroups = mkOption { type = types.listOf types.str; default = [ ]; };
          home = mkOption { type = types.passwdEntry types.path; default = "/var/empty"; };
          createHome = mkOption { type = types.bool; default = false; };
        };
      }));
      default = { };
    };
    users.groups = mkOption {
      type = types.attrsOf (types.submodule ({ name, ... }: {
        options = {
          name = mkOption { type = types.passwdEntry types.str; default = name; };
          gid = mkOption { type = types.nullOr types.int; default = null; };
          members = mkOption { type = types.listOf (types.passwdEntry types.str); default = [ ]; };
        };
      }));
      default = { };
    };

    # nixos/modules/misc/version.nix
    system.stateVersion = mkOption { type = types.str; default = "25.11"; };

    # nixos/modules/config/system-path.nix
    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };

    # nixos/modules/services/databases/postgresql.nix
    services.postgresql = {
      enable = mkEnableOption "PostgreSQL Server";
      # No default: nixpkgs sets it (by system.stateVersion) only when the server is enabled.
      package = mkOption { type = types.package; };
      dataDir = mkOption { type = types.path; default = "/var/lib/postgresql/${config.services.postgresql.package.psqlSchema}"; };
      authentication = mkOption { type = types.lines; default = ""; };
      identMap = mkOption { type = types.lines; default = ""; };
      ensureDatabases = mkOption { type = types.listOf types.str; default = [ ]; };
      ensureUsers = mkOption {
        type = types.listOf (types.submodule {
          options = {
            name = mkOption { type = types.str; };
            ensureDBOwnership = mkOption { type = types.bool; default = false; };
            ensureClauses = mkOption { type = types.attrsOf types.anything; default = { }; };
          };
        });
        default = [ ];
      };
      settings = mkOption {
        type = types.submodule {
          freeformType = types.attrsOf (types.oneOf [ types.bool types.float types.int types.str ]);
          options.port = mkOption { type = types.port; default = 5432; };
        };
        default = { };
      };
    };

    # nixos/modules/services/databases/redis.nix
    services.redis.package = mkOption { type = types.package; default = pkgs.redis; };
    services.redis.servers = mkOption {
      type = types.attrsOf (types.submodule ({ name, config, ... }: {
        options = {
          enable = mkEnableOption "Redis server";
          user = mkOption { type = types.str; default = if name == "" then "redis" else "redis-${name}"; };
          group = mkOption { type = types.str; default = config.user; };
          port = mkOption { type = types.port; default = if name == "" then 6379 else 0; };
          openFirewall = mkOption { type = types.bool; default = false; };
          bind = mkOption { type = types.nullOr types.str; default = "127.0.0.1"; };
          unixSocket = mkOption { type = types.nullOr types.path; default = "/run/redis-${name}/redis.sock"; };
          requirePass = mkOption { type = types.nullOr types.str; default = null; };
          requirePassFile = mkOption { type = types.nullOr types.path; default = null; };
          appendOnly = mkOption { type = types.bool; default = false; };
          appendFsync = mkOption { type = types.str; default = "everysec"; };
          save = mkOption { type = types.listOf (types.listOf types.int); default = [ [ 900 1 ] [ 300 10 ] [ 60 10000 ] ]; };
          settings = mkOption {
            type = types.attrsOf (types.oneOf [ types.bool types.int types.str (types.listOf types.str) ]);
            default = { };
          };
        };
      }));
      default = { };
    };
  };
}
