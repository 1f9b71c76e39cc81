# The keys a fleet host no longer uses, removed: a deploy that takes a service's part, a replica
# or a host certificate off this host, or renames a secret, leaves in `stackr.secretsDir` exactly
# the files of `stackr.fleet.keyFiles` that were there, and no older key (a database password
# whose database moved away, an old TLS key). Only in a fleet: the deploying machine keeps every
# key's original in `stackr.fleet.keysSource`, so a removed file is only this host's copy. A
# single host's files (provisioned by hand, or `stackr.secrets.generate`'s) may be the only copy
# and are never removed.
#
# Only what this module itself listed is removed: each run records the names of this
# configuration's keys in `<secretsDir>/.stackr-keys` and, before that, removes the names the
# record of the previous run holds and this configuration no longer lists, when each is a regular
# file directly in the folder (never a symlink, a folder, or a file nothing recorded, such as one
# the operator put there). A key this configuration lists is never removed, whenever the unit
# runs: before colmena uploads it (`uploadAt = "post-activation"`, or keys copied by hand after a
# nixos-rebuild) or after (colmena's default, pre-activation upload).
#
# The unit runs as root in the sandbox of stackr's root file writers (modules/hardening.nix),
# where only the key folder is writable. It keeps one capability, CAP_DAC_OVERRIDE, and the
# host's users (no `PrivateUsers=`): the folder is not always root's (keys copied by hand with
# their owner kept, a VM test's folder shared from the machine running it), and removing a file
# and writing the record take writing in the folder. It changes no owner or mode.
{ config, lib, pkgs, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
  hardening = import ./hardening.nix;
  dir = cfg.secretsDir;
  keys = cfg.fleet.keyFiles;
  record = ".stackr-keys";
  listed =
    if keys == [ ] then "listed() { return 1; }"
    else ''
      listed() {
        case "$1" in
          ${lib.concatMapStringsSep "|" lib.escapeShellArg keys}) return 0 ;;
          *) return 1 ;;
        esac
      }
    '';
in
{
  config = lib.mkIf (cfg.enable && stackrLib.inFleet cfg) {
    # A oneshot, not an activation script, so it is retried when it fails (a full disk). Its
    # script holds the key list, so a deploy that changes the list restarts it. No unit is
    # ordered after it: it never removes a key a unit of this configuration reads.
    systemd.services.${stackrLib.staleKeysUnit} = lib.recursiveUpdate (stackrLib.retriedUntilStarted 30) {
      description = "Remove stackr keys this host no longer uses";
      wantedBy = [ "multi-user.target" ];
      serviceConfig = hardening.fileWriter // lib.mapAttrs (_: lib.mkDefault) {
        PrivateUsers = false;
        CapabilityBoundingSet = "CAP_DAC_OVERRIDE";
      } // {
        Type = "oneshot";
        RemainAfterExit = true;
        # `-`: systemd applies ReadWritePaths= to the `+` command below too, which runs while the
        # folder may not be there yet (a missing path fails the start otherwise).
        ReadWritePaths = [ (stackrLib.settingWord "-${dir}") ];
        # The first deploy of a host whose keys are copied by hand after it: the folder made
        # before the script starts (`+`: outside the sandbox, where the folder above is
        # read-only).
        ExecStartPre = [ "+${pkgs.coreutils}/bin/mkdir -p -m 0700 -- ${stackrLib.execWord dir}" ];
      };
      path = [ pkgs.coreutils ];
      script = ''
        dir=${lib.escapeShellArg dir}
        ${listed}
        if [ -f "$dir/${record}" ] && [ ! -L "$dir/${record}" ]; then
          while IFS= read -r name; do
            case "$name" in "" | . | .. | */* | ${record} | ${record}.new) continue ;; esac
            if ! listed "$name" && [ -f "$dir/$name" ] && [ ! -L "$dir/$name" ]; then
              rm -f -- "$dir/$name"
              echo "removed $dir/$name: no unit of this host reads it any more"
            fi
          done < "$dir/${record}"
        fi
        printf '%s\n' ${lib.escapeShellArgs keys} > "$dir/${record}.new"
        mv -f -- "$dir/${record}.new" "$dir/${record}"
      '';
    };
  };
}
