# colmena's per-node `deployment` options that stackr's generated hive sets, typed as colmena
# declares them (colmena's src/nix/hive/options.nix: `deploymentOptions` and `keyType`), so the
# module system checks the hive's nodes as `colmena apply` would.
{ lib, ... }:
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
}
