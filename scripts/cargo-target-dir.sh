#!/usr/bin/env bash
# Prints the folder cargo builds this workspace in: `target/` unless CARGO_TARGET_DIR or a cargo
# config moves it. Scripts that run a binary they built find it here, not at a fixed target/.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo metadata prints one line of JSON; the folder is its `target_directory` string.
cargo metadata --format-version 1 --no-deps --offline |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
