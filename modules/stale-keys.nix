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
{ config, lib, pkgs, ... }:
let
  cfg = config.stackr;
  stackrLib = import ./lib.nix { inherit lib; };
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
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
      };
      path = [ pkgs.coreutils ];
      script = ''
        dir=${lib.escapeShellArg dir}
        ${listed}
        # The first deploy of a host whose keys are copied by hand after it.
        [ -d "$dir" ] || mkdir -p -m 0700 "$dir"
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
