#!/usr/bin/env bash
# The one command that runs every test of the repository on a fresh Debian machine with only the
# Rust toolchain: installs the real servers the tests use, builds the workspace once, then runs
# every suite (unit, behavioural, interop with the real BetterAuth/BullMQ, end-to-end checks in
# Docker, formatting, clippy and API docs with warnings denied, generated-file drift, architecture
# lint) several at a time. Every suite runs even when another fails; the end prints each suite's
# time and the failing tests. Clippy and rustdoc share their own target folder, so they never wait
# for the lock of the one the test suites build generated projects in.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
scripts/install-system-deps.sh test
pg_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_dir" ] && export PATH="$PATH:$pg_dir"

# Node packages of the interop suites, installed once here: several suites use the same folder
# and run at the same time.
for dir in runtime/auth/interop runtime/auth/interop/oidc runtime/kit/interop/bullmq; do
  [ -d "$dir/node_modules" ] || (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done

# The checks' container images are assembled from Debian packages (disk and network, little CPU):
# build them while cargo compiles. A failure here shows again, explained, in the checks suites.
mkdir -p target/test-suites
{ bash checks/image/build.sh && bash checks/image/build.sh systemd; } >/dev/null 2>target/test-suites/checks-image.log &
image_build=$!

# A from-scratch build gains nothing from incremental compilation, which costs time and gigabytes
# of disk; the suites' own `cargo build` calls inherit this, so they find everything built.
export CARGO_INCREMENTAL=0

# One build of everything the suites run, with the whole workspace's features (a `-p` build
# would resolve features differently and compile much of the graph a second time).
build_json=target/test-suites/cargo-build.json
echo "stackr: building the workspace and its tests"
# Every crate of the lock file, for every platform, before any suite runs: a suite builds a fresh
# project offline from this cache while another runs `cargo metadata`, which would otherwise
# download the other platforms' crates into it under that build.
cargo fetch --locked --quiet
cargo build --workspace --bins --locked
cargo test --workspace --locked --no-run --message-format=json-render-diagnostics >"$build_json"
wait "$image_build" || echo "stackr: building the checks images failed (target/test-suites/checks-image.log)"
built=$(date +%s)

# The drift and lint suites run a copy of the binary just built: suites that rebuild the
# workspace (the demo stack, the scaffold example) relink target/debug/stackr while they run.
# The workspace build went to target/ unless CARGO_TARGET_DIR or a cargo config moves it.
stackr=target/test-suites/stackr
cp "$(scripts/cargo-target-dir.sh)/debug/stackr" "$stackr"
status=0
python3 scripts/run-suites.py "$build_json" \
  "formatting=cargo fmt --all -- --check" \
  "generated files up to date=$stackr generate --check" \
  "architecture lint=$stackr lint" \
  "clippy=CARGO_TARGET_DIR=target/lints cargo clippy --workspace --all-targets --locked -- -D warnings" \
  "api docs=CARGO_TARGET_DIR=target/lints RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --locked" \
  --serial "doc tests=cargo test --workspace --locked --doc -- --test-threads=2" || status=$?

finished=$(date +%s)
echo "stackr: test command took $((finished - started))s (set-up and build $((built - started))s, suites $((finished - built))s)"
exit "$status"
