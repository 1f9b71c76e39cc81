#!/usr/bin/env bash
# Installs the system programs stackr's demo stack and test suite run for real: PostgreSQL,
# Redis, Node (interop tests against the real BetterAuth and BullMQ), Docker + debootstrap (the
# checks/ image is assembled locally), nix-bin (parses generated Nix) and Chromium with its
# WebDriver (the auth admin dashboard's browser test). Only what is missing is
# installed, so re-running is cheap. Usage: scripts/install-system-deps.sh [demo|test]
set -euo pipefail
purpose="${1:-test}"

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_bin_present() { have initdb || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

pg_bin_present || need+=(postgresql)
have psql || need+=(postgresql-client)
have redis-server || need+=(redis-server)
if [ "$purpose" = test ]; then
  have python3 || need+=(python3) # the suite runner, and SMTP/HTTP peers in some tests
  have node || need+=(nodejs npm)
  have dockerd || need+=(docker.io)
  have debootstrap || need+=(debootstrap)
  have nix-instantiate || need+=(nix-bin)
  have chromedriver || need+=(chromium chromium-driver)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "stackr: installing missing system packages: ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Debian keeps initdb/postgres/pg_ctl off PATH; the dev stack and tests need them on it.
if ! have initdb; then
  pg_dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  echo "stackr: PostgreSQL server binaries are in $pg_dir (added to PATH by stackr itself)"
fi
