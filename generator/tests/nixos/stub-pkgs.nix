# The packages stackr's modules and generated files refer to, as minimal derivation-shaped values
# (`type = "derivation"` with an outPath), enough for `types.package` and string interpolation,
# plus a stand-in for crane's library that nix/packages.nix calls.
let
  drv = name: {
    type = "derivation";
    inherit name;
    outPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}";
  };
  named = names: builtins.listToAttrs (map (name: { inherit name; value = drv name; }) names);
in
named [ "coreutils" "curl" "redis" "util-linux" "process-compose" "cargo" "rustc" "gnugrep" "git" "bash" "findutils" "gnused" "systemd" "nginx" "iptables" ]
// {
  postgresql = drv "postgresql" // { psqlSchema = "17"; };
  postgresql_14 = drv "postgresql-14" // { psqlSchema = "14"; };
  postgresql_15 = drv "postgresql-15" // { psqlSchema = "15"; };
  postgresql_16 = drv "postgresql-16" // { psqlSchema = "16"; };
  postgresql_17 = drv "postgresql-17" // { psqlSchema = "17"; };
  # The script's text is kept, so tests can read what a command would run.
  writeShellScriptBin = name: text: drv name // { inherit text; };
  writeText = name: text: drv name // { inherit text; };
  # crane's library (the flake passes `crane.mkLib pkgs`).
  craneLib = {
    buildDepsOnly = args: drv "${args.pname}-deps";
    buildPackage = args: drv args.pname;
  };
}
