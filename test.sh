#!/usr/bin/env bash
# The whole test suite: formatting and lints, the unit and property tests of the core,
# then the integration tests, which start real redis-server processes with
# target/release/libredis_seq.so (built first). Runs every test binary even after a
# failure; exits non-zero on any.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
cargo build --release
# Two test threads per binary: each integration test runs one to three redis-servers, and
# the suite is sized for a 2-core machine.
RUST_BACKTRACE=1 cargo test --release --workspace --no-fail-fast -- --test-threads=2
