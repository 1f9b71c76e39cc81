#!/usr/bin/env bash
# The one command that runs every test of the repository on a fresh Debian machine with only the
# Rust toolchain: installs the real servers the tests use, then runs the whole workspace's tests
# (unit, behavioural, interop with the real BetterAuth/BullMQ, end-to-end checks in Docker) and
# verifies the repo's generated files have not drifted.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-deps.sh test
pg_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_dir" ] && export PATH="$PATH:$pg_dir"

cargo fmt --all -- --check
cargo build --workspace --bins --locked
cargo run --quiet --locked -p stackr -- generate --check
cargo run --quiet --locked -p stackr -- lint
cargo test --workspace --locked -- --test-threads=2
