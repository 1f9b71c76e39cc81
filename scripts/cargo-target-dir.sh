#!/usr/bin/env bash
# Prints the folder cargo builds this workspace in: `target/` unless CARGO_TARGET_DIR or a cargo
# config moves it. Scripts that run a binary they built find it here, not at a fixed target/.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo metadata prints one line of JSON; the folder is its `target_directory` string (read
# without a JSON parser, which a fresh machine may lack: a folder whose name holds a quote or a
# backslash is not read right, and said so below).
dir=$(cargo metadata --format-version 1 --no-deps --offline |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
if [ ! -d "$dir" ]; then
  echo "cargo-target-dir.sh: cannot find cargo's target folder (read '$dir' from cargo metadata)" >&2
  exit 1
fi
echo "$dir"
