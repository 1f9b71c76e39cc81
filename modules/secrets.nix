# Optional creation of missing secret files (stackr.secrets.generate). Each file gets 48 random
# [A-Za-z0-9] characters, mode 0600, root-owned, in `secretsDir` (by default the state folder's
# `secrets/`, so generated secrets survive reboots); an existing file is never replaced. Units
# read the files through LoadCredential, so no service identity needs access.
#
# The unit runs as root (the files are root's) in the sandbox of stackr's root file writers
# (modules/hardening.nix): the only folders it may write are those of the files. It changes no
# owner and writes only in root's folders, so it holds no capability at all.
{ config, lib, pkgs, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  hardening = import ./hardening.nix;
  services = lib.attrValues cfg.services;
  files = lib.unique (
    lib.optional (stackrLib.authOf cfg.services != null && cfg.auth.secretFile != null) cfg.auth.secretFile
    ++ lib.concatMap
      (s: [ s.postgres.passwordFile s.redis.passwordFile ] ++ lib.optional (s.kind == "base") s.credentialFile)
      services
  );
  # The folders of the files besides the unit's state folder (which systemd makes and opens for
  # writing): made before the script starts, where the sandbox no longer can, and writable.
  folders = lib.filter (dir: dir != "${cfg.stateDir}/secrets") (lib.unique (map dirOf files));
  # Every unit of the stack that loads a secret, and the services' own Redis servers.
  consumers = lib.attrNames (lib.filterAttrs
    (name: unit: lib.hasPrefix "stackr-" name && name != "stackr-secrets" && (unit.serviceConfig.LoadCredential or [ ]) != [ ])
    config.systemd.services)
    ++ map stackrLib.redisUnit (lib.attrNames cfg.services);
  consumerUnits = map (name: if lib.hasSuffix ".service" name then name else "${name}.service") consumers;
in
{
  config = lib.mkIf (cfg.enable && cfg.secrets.generate) {
    warnings = [
      "stackr.secrets.generate: secrets are created once in ${cfg.secretsDir} and kept; back that folder up, or provision the secret files out of band."
    ];
    # A failed start (a full disk) is tried again: its consumers start without it and fail
    # until their secrets are there.
    systemd.services.stackr-secrets = lib.recursiveUpdate (stackrLib.retriedUntilStarted 30) {
      description = "Create missing stackr secret files";
      # Wanted by (not required by) its consumers, and ordered before them: a deploy that changes
      # this unit (a service added) restarts it, and with Requires= systemd would stop and start
      # every consumer with it, the whole stack. A consumer started without its secret fails on
      # its own (LoadCredential= finds no file).
      wantedBy = [ "multi-user.target" ] ++ consumerUnits;
      before = consumerUnits;
      serviceConfig = hardening.fileWriter // {
        Type = "oneshot";
        RemainAfterExit = true;
        StateDirectory = "${stackrLib.stateSubdir cfg}/secrets";
        StateDirectoryMode = "0700";
      } // lib.optionalAttrs (folders != [ ]) {
        # `-`: systemd applies ReadWritePaths= to the `+` command too, which runs while the
        # folder may not be there yet (a missing path fails the start otherwise).
        ReadWritePaths = map (dir: stackrLib.settingWord "-${dir}") folders;
        # `+`: outside the sandbox, which makes the folder above read-only.
        ExecStartPre = [ "+${pkgs.coreutils}/bin/mkdir -p -- ${lib.concatMapStringsSep " " stackrLib.execWord folders}" ];
      };
      path = [ pkgs.coreutils ];
      # Written to a temporary file and renamed, so a crash never leaves a short secret behind.
      script = lib.concatMapStringsSep "\n"
        (file:
          let f = lib.escapeShellArg file; in ''
            if [ ! -s ${f} ]; then
              head -c 4096 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 48 > ${f}.new
              [ "$(wc -c < ${f}.new)" -eq 48 ] || { echo "stackr-secrets: could not create "${f} >&2; exit 1; }
              mv ${f}.new ${f}
            fi
          '')
        files;
    };
  };
}
