# Small helpers shared by the stackr modules.
{ lib }:
rec {
  # PostgreSQL role and database of a service: `-` is not valid unquoted in SQL identifiers.
  dbName = name: builtins.replaceStrings [ "-" ] [ "_" ] name;

  # `services.redis.servers.<name>` runs as unit `redis-<name>.service`.
  redisUnit = name: "redis-${name}.service";

  authOf = services: lib.findFirst (s: s.kind == "auth") null (lib.attrValues services);

  # Base services are auth's provisioning targets.
  baseNames = services: lib.attrNames (lib.filterAttrs (_: s: s.kind == "base") services);
}
