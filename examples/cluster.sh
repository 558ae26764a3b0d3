#!/usr/bin/env bash
# A local 3-master Redis Cluster with redis-seq loaded on every node, for trying things out.
#
#   examples/cluster.sh            start (ports 7000-7002), then print how to connect
#   examples/cluster.sh stop       stop the nodes this script started (by their PIDs)
#   examples/cluster.sh status     show the nodes and the slot map
#
# Environment:
#   BASE_PORT   first port (default 7000; the nodes use BASE_PORT..BASE_PORT+NODES-1)
#   NODES       number of masters (default 3, the minimum for a cluster)
#   CLUSTER_DIR where the nodes keep their data, logs and PID files
#               (default ${TMPDIR:-/tmp}/redis-seq-cluster-<BASE_PORT>)
#   MODULE      the module (default target/release/libredis_seq.so next to this script;
#               build it with `cargo build --release`)
#   SEQ_ARGS    extra module configs, e.g. "--seq.failover-gap 1000 --seq.max-len 100000"
#
# `start` always starts from empty nodes (it wipes CLUSTER_DIR's node directories).
set -euo pipefail

BASE_PORT=${BASE_PORT:-7000}
NODES=${NODES:-3}
CLUSTER_DIR_SET=${CLUSTER_DIR:+1}
CLUSTER_DIR=${CLUSTER_DIR:-${TMPDIR:-/tmp}/redis-seq-cluster-${BASE_PORT}}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE=${MODULE:-$HERE/../target/release/libredis_seq.so}
SEQ_ARGS=${SEQ_ARGS:-}

ports() {
    local i
    for ((i = 0; i < NODES; i++)); do echo $((BASE_PORT + i)); done
}

pid_of() { # prints the PID recorded for a port, if that process is still alive
    local f="$CLUSTER_DIR/$1/redis.pid"
    [[ -s $f ]] || return 1
    local pid
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

stop() {
    local port pid stopped=0
    for port in $(ports); do
        if pid=$(pid_of "$port"); then
            kill "$pid"
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "node :$port (pid $pid) did not stop in 10 s; sending SIGKILL"
                kill -9 "$pid" 2>/dev/null || true
            fi
            echo "stopped node :$port (pid $pid)"
            stopped=$((stopped + 1))
        fi
        rm -f "$CLUSTER_DIR/$port/redis.pid"
    done
    [[ $stopped -gt 0 ]] || echo "no running node found under $CLUSTER_DIR"
}

start() {
    if [[ ! -f $MODULE ]]; then
        echo "module not found: $MODULE (run \`cargo build --release\` first, or set MODULE=...)" >&2
        exit 1
    fi
    MODULE=$(cd "$(dirname "$MODULE")" && pwd)/$(basename "$MODULE")
    local port
    for port in $(ports); do
        if pid_of "$port" >/dev/null; then
            echo "node :$port is already running (see \`$0 stop\`)" >&2
            exit 1
        fi
        if redis-cli -p "$port" PING >/dev/null 2>&1; then
            echo "port $port is taken by another server; set BASE_PORT=..." >&2
            exit 1
        fi
    done
    mkdir -p "$CLUSTER_DIR"
    local addrs=()
    for port in $(ports); do
        local dir="$CLUSTER_DIR/$port"
        rm -rf "$dir"
        mkdir -p "$dir"
        # shellcheck disable=SC2086 # SEQ_ARGS is a list of words on purpose
        redis-server \
            --port "$port" --bind 127.0.0.1 \
            --dir "$dir" --daemonize yes \
            --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
            --appendonly yes --appendfsync everysec \
            --loadmodule "$MODULE" $SEQ_ARGS
        addrs+=("127.0.0.1:$port")
    done
    for port in $(ports); do
        local ok=0
        for _ in $(seq 1 100); do
            if redis-cli -p "$port" PING >/dev/null 2>&1; then ok=1; break; fi
            sleep 0.1
        done
        if [[ $ok -ne 1 ]]; then
            echo "node :$port did not start; its log:" >&2
            tail -20 "$CLUSTER_DIR/$port/redis.log" >&2 || true
            stop
            exit 1
        fi
    done
    if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes; then
        echo "cluster create failed; stopping the nodes" >&2
        stop
        exit 1
    fi
    for _ in $(seq 1 100); do
        redis-cli -p "$BASE_PORT" CLUSTER INFO | grep -q '^cluster_state:ok' && break
        sleep 0.1
    done
    local stop_cmd="$0 stop"
    [[ $BASE_PORT == 7000 && $NODES == 3 ]] || stop_cmd="BASE_PORT=$BASE_PORT NODES=$NODES $0 stop"
    [[ -z ${CLUSTER_DIR_SET:-} ]] || stop_cmd="CLUSTER_DIR=$CLUSTER_DIR $stop_cmd"
    cat <<EOF

redis-seq cluster is up: ${addrs[*]} (data and logs under $CLUSTER_DIR)

Connect (-c follows MOVED/ASK redirections):
    redis-cli -c -p $BASE_PORT

Try:
    SEQ.ALLOC conv:{g42} m-1 "hello"
    SEQ.ALLOC conv:{g42} m-1 "hello"          # retry: same seq
    SEQ.RANGE conv:{g42} - +
    SEQ.MLAST conv:{g42} inbox:{g42}          # one slot (hash tag): works
    SEQ.MLAST conv:{g42} conv:{g43}           # two slots: CROSSSLOT, as MGET
    CLUSTER KEYSLOT conv:{g42}

Stop:
    $stop_cmd
EOF
}

status() {
    local port
    for port in $(ports); do
        if pid=$(pid_of "$port"); then echo "node :$port pid $pid"; else echo "node :$port not running"; fi
    done
    redis-cli -p "$BASE_PORT" CLUSTER NODES 2>/dev/null || true
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 [start|stop|status]" >&2
        exit 2
        ;;
esac
