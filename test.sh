#!/usr/bin/env bash
# The whole test suite: formatting and lints, the unit and property tests of the core,
# then the integration tests, which start real server processes with
# target/release/libredis_seq.so (built first): once against Redis (Debian's
# redis-server, redis-sentinel, redis-cli) with everything else, then once more against
# Valkey (valkey-server, `valkey-server --sentinel`, valkey-cli, installed by
# scripts/install-valkey.sh). Runs every test binary even after a failure; exits
# non-zero on any.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh --for-tests
# Installed by install-deps.sh; here it only prints its bin directory.
valkey_bin=$(./scripts/install-valkey.sh)
case "$valkey_bin" in
*[[:space:]]*)
    # SEQ_TEST_SENTINEL below is split on whitespace.
    echo "test.sh: the Valkey directory must not contain spaces: $valkey_bin (set VALKEY_HOME)" >&2
    exit 1
    ;;
esac
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
cargo build --release

# "Redis server v=7.0.15 sha=..." -> "Redis 7.0.15"
version_of() {
    "$@" --version | sed -E 's/^([A-Za-z]+) server v=([^ ]+).*/\1 \2/'
}

# The fuzz targets (crates/seq-fuzz) and the live-server fuzzer (tests/it/live_fuzz.rs) run
# for a fixed time from a pinned seed, so a green run stays green on any machine: a slower
# one explores a prefix of the same inputs. Set other seeds (or unset these) to explore;
# crates/seq-fuzz/README.md shows a long run.
export SEQ_FUZZ_SEED="${SEQ_FUZZ_SEED:-20261201}"
export SEQ_LIVE_FUZZ_SEED="${SEQ_LIVE_FUZZ_SEED:-20261201}"

failed=0
# Two test threads per binary: each integration test runs one to three servers, and
# the suite is sized for a 2-core machine.
echo "== unit, property and fuzz tests; integration tests against $(version_of redis-server) =="
RUST_BACKTRACE=1 cargo test --release --workspace --no-fail-fast -- --test-threads=2 || failed=1

# The same integration tests (the root package's one test binary, tests/it) with Valkey's
# binaries; the core's tests do not touch a server and ran above.
echo "== integration tests against $(version_of "$valkey_bin/valkey-server") =="
SEQ_TEST_SERVER="$valkey_bin/valkey-server" \
    SEQ_TEST_SENTINEL="$valkey_bin/valkey-server --sentinel" \
    SEQ_TEST_CLI="$valkey_bin/valkey-cli" \
    RUST_BACKTRACE=1 cargo test --release -p redis-seq --test it --no-fail-fast -- --test-threads=2 || failed=1

echo "== test.sh: $([ "$failed" -eq 0 ] && echo passed || echo FAILED) in ${SECONDS} s =="
exit "$failed"
