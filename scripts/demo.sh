#!/usr/bin/env bash
# The main job: brings the repo's demo stack (auth + core + wallet, each with its own PostgreSQL,
# Redis, API and worker) up on this machine. With Nix this is `nix run .#dev`; without it, stackr's
# embedded supervisor runs the same generated process-compose.yaml. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-deps.sh demo
pg_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_dir" ] && export PATH="$PATH:$pg_dir"

# The stack's own `build` step runs `cargo build --workspace --bins`: building the same set here makes
# it a no-op. stackr is run directly, not through `cargo run`, whose package variables
# (CARGO_MANIFEST_DIR, …) the stack's processes would inherit, and some build scripts rerun
# whenever those change.
cargo build --quiet --locked --workspace --bins
# Where that build went: target/ unless CARGO_TARGET_DIR or a cargo config moves it.
target_dir=$(scripts/cargo-target-dir.sh)
# The auth service's admin dashboard (its port is plan/src/model/ports.rs's AUTH_ADMIN_PORT).
echo "stackr: admin dashboard (once the stack is up): http://127.0.0.1:3333/"
echo "stackr: the first admin: sign up, then run: $target_dir/debug/stackr set-role EMAIL admin"
exec "$target_dir/debug/stackr" dev "$@"
