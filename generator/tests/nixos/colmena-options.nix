# colmena's per-node `deployment` options that stackr's generated hive sets, typed as colmena
# declares them (colmena's src/nix/hive/options.nix: `deploymentOptions` and `keyType`), so the
# module system checks the hive's nodes as `colmena apply` would. And the unit colmena adds to
# every node for each key (src/nix/hive/modules.nix, `keyServiceModule`: `<name>-key.service`,
# active while the file is there): systemd.services then depends on deployment.keys, as in a
# real hive, so keys derived from systemd.services recurse forever there.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  keyType = types.submodule ({ name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      text = mkOption { type = types.nullOr types.str; default = null; };
      keyFile = mkOption { type = types.nullOr types.path; default = null; apply = value: if value == null then null else toString value; };
      keyCommand = mkOption { type = types.nullOr (types.listOf types.str); default = null; };
      destDir = mkOption { type = types.path; default = "/run/keys"; };
      path = mkOption { type = types.path; default = "${config.destDir}/${config.name}"; readOnly = true; };
      user = mkOption { type = types.str; default = "root"; };
      group = mkOption { type = types.str; default = "root"; };
      permissions = mkOption { type = types.str; default = "0600"; };
      uploadAt = mkOption { type = types.enum [ "pre-activation" "post-activation" ]; default = "pre-activation"; };
    };
  });
in
{
  options.deployment = {
    targetHost = mkOption { type = types.nullOr types.str; default = null; };
    targetPort = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
    targetUser = mkOption { type = types.nullOr types.str; default = "root"; };
    tags = mkOption { type = types.listOf types.str; default = [ ]; };
    keys = mkOption { type = types.attrsOf keyType; default = { }; };
  };
  config.systemd.services = lib.mapAttrs'
    (name: key: lib.nameValuePair "${name}-key" {
      serviceConfig.Restart = "on-failure";
      script = ''
        if [[ ! -e "${key.path}" ]]; then
          >&2 echo "${key.path} does not exist"
          exit 0
        fi
        inotifywait -qq -e delete_self "${key.path}"
      '';
    })
    config.deployment.keys;
}
