#!/usr/bin/env bash
# Builds redis-seq and runs redis-server with it, in the foreground, on 127.0.0.1:6379,
# configured by redis.conf.example. Extra arguments go to redis-server, after the module
# is loaded, e.g.  ./run.sh --port 6380 --seq.max-len 10000
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
cargo build --release
exec redis-server redis.conf.example --loadmodule "$PWD/target/release/libredis_seq.so" "$@"
