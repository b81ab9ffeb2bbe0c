#!/usr/bin/env bash
# A local cluster proof, without a container engine: what docker/compose.yaml runs (PostgreSQL,
# a migration job, two service nodes behind HAProxy), plus a streaming replica, all on loopback
# ports of this machine, then a mixed load through the proxy while a node is killed and
# restarted and the replica is stopped and started (docker/cluster.py). It fails unless every
# acknowledged write is there exactly once, through the API and in the primary database.
#
#   docker/cluster.sh [--short] [--binary PATH]      (as root; default binary target/debug/tongxing)
#
# --short loads for about 22 s (CI); without it, about three minutes with two kills and two
# replica outages. The last line reads
#   cluster: R requests, L acknowledged writes lost, D duplicates, P% of report reads served by the replica, failover S s
# TONGXING_CLUSTER_KEEP=1 keeps the scratch directory (logs, data) instead of removing it.
#
# Needs: PostgreSQL 15's server binaries (/usr/lib/postgresql/15/bin, or TONGXING_PG_BIN), psql,
# curl, python3 (standard library only). HAProxy is installed from Debian's packages if missing.
#
# Why HAProxy: its free version checks each node actively (GET /readyz every 500 ms here), so a
# dead or stopping node leaves the rotation before clients find out, and a recovered one comes
# back on its own. nginx's open-source edition has passive checks only (a node is marked failed
# after real requests to it have failed; `health_check` is NGINX Plus), and compose already runs
# HAProxy (docker/haproxy.cfg), whose settings the configuration below keeps.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

short=0
binary=target/debug/tongxing
while [ $# -gt 0 ]; do
    case $1 in
        --short) short=1 ;;
        --binary) [ $# -ge 2 ] || { echo "cluster: --binary needs a path" >&2; exit 2; }; binary=$2; shift ;;
        --binary=*) binary=${1#--binary=} ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "cluster: unknown argument $1 (usage: docker/cluster.sh [--short] [--binary PATH])" >&2; exit 2 ;;
    esac
    shift
done
case $binary in /*) ;; *) binary=$root/$binary ;; esac
if [ ! -x "$binary" ]; then
    echo "cluster: no executable at $binary (build it, or give --binary PATH)" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "cluster: run as root (PostgreSQL runs as the postgres user through runuser)" >&2
    exit 2
fi

if ! command -v haproxy >/dev/null 2>&1; then
    echo "cluster: installing HAProxy from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
pg_bin=${TONGXING_PG_BIN:-/usr/lib/postgresql/15/bin}
for tool in "$pg_bin/initdb" "$pg_bin/pg_ctl" "$pg_bin/pg_basebackup" "$pg_bin/postgres"; do
    [ -x "$tool" ] || { echo "cluster: $tool is missing (PostgreSQL 15 server binaries; TONGXING_PG_BIN)" >&2; exit 2; }
done
for tool in psql curl python3 runuser; do
    command -v "$tool" >/dev/null 2>&1 || { echo "cluster: $tool is missing" >&2; exit 2; }
done

started=$SECONDS
# The original stderr, for what cleanup prints even when a redirected group is exiting.
exec 3>&2
work=$(mktemp -d /tmp/tongxing-cluster.XXXXXX)
chown postgres: "$work"
chmod 755 "$work"
primary=$work/primary
replica=$work/replica
bin=$work/tongxing

tails_done=
as_pg() { runuser -u postgres -- "$@"; }

# Stops a process by its pid file, only if it is still the program we started.
stop_pidfile() {
    local file=$1 exe=$2 pid
    [ -s "$file" ] || return 0
    pid=$(cat "$file")
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

tails() {
    local f
    for f in "$work"/*.log "$primary"/log/*.log "$replica"/log/*.log; do
        [ -s "$f" ] || continue
        echo "--- last lines of ${f#"$work"/}" >&3
        tail -n 25 "$f" >&3
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM ERR
    set +e
    for n in 1 2; do stop_pidfile "$work/node$n.pid" "$bin"; done
    stop_pidfile "$work/haproxy.pid" "$(readlink -f "$(command -v haproxy)")"
    for d in "$replica" "$primary"; do
        [ -f "$d/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1
    done
    [ "$rc" -ne 0 ] && [ -z "$tails_done" ] && tails
    if [ "${TONGXING_CLUSTER_KEEP:-}" = 1 ]; then
        echo "cluster: kept $work" >&3
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "cluster: failed at line $LINENO: $BASH_COMMAND" >&3' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

step() { echo "cluster: $* ($((SECONDS - started)) s)" >&2; }

# The binary may be rebuilt while this runs: use a copy.
cp "$binary" "$bin"

# Five loopback ports, free at this moment: primary, replica, two nodes, the proxy.
read -r pg_port replica_port node1_port node2_port proxy_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
')

# --- PostgreSQL: a primary and a streaming replica ------------------------------------------
step "PostgreSQL primary on 127.0.0.1:$pg_port"
as_pg "$pg_bin/initdb" -D "$primary" -A trust -U postgres -E UTF8 --no-locale >"$work/initdb.log" 2>&1
cat >>"$primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql.log'
log_min_messages = warning
EOF
cat >>"$primary/pg_hba.conf" <<EOF
host all         all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
EOF
as_pg "$pg_bin/pg_ctl" -D "$primary" -w -t 60 -l "$work/pg-primary.log" start >/dev/null
"$pg_bin/pg_isready" -q -U postgres -d postgres -h 127.0.0.1 -p "$pg_port" -t 30
psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c 'CREATE DATABASE tongxing'

step "streaming replica on 127.0.0.1:$replica_port"
# -R writes standby.signal and primary_conninfo; the slot keeps the WAL the replica has not
# received yet while it is stopped.
as_pg "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$pg_port" -U postgres -D "$replica" \
    -R -X stream -C -S tongxing_replica -c fast >"$work/basebackup.log" 2>&1
rm -f "$replica"/log/*  # the primary's log, copied with the rest
cat >>"$replica/postgresql.conf" <<EOF
port = $replica_port
hot_standby = on
EOF
as_pg "$pg_bin/pg_ctl" -D "$replica" -w -t 60 -l "$work/pg-replica.log" start >/dev/null
"$pg_bin/pg_isready" -q -U postgres -d tongxing -h 127.0.0.1 -p "$replica_port" -t 30
in_recovery=$(psql -X -At -h 127.0.0.1 -p "$replica_port" -U postgres -d tongxing -c 'SELECT pg_is_in_recovery()')
[ "$in_recovery" = t ] || { echo "cluster: the replica is not in recovery" >&2; exit 1; }

# --- the service: migration job, demo data, administrator, two nodes ------------------------
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/tongxing"
export TONGXING_REPLICA_URL="postgres://postgres@127.0.0.1:$replica_port/tongxing"
export TONGXING_REPLICA_MAX_LAG=5
# Requests arrive through HAProxy on loopback: that address alone may forward the client's.
export TONGXING_TRUSTED_PROXIES=127.0.0.1
# The migrations run once, as a job, before any node starts (as compose's `migrate`).
export TONGXING_MIGRATE_ON_START=false
# One signing key for both nodes (they would also share the one kept in the database).
TONGXING_SIGNING_KEY=$(head -c 32 /dev/urandom | base64)
export TONGXING_SIGNING_KEY
export TONGXING_ACCESS_TOKEN_TTL=3600
export TONGXING_LOG=info
admin_password="cluster-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
reader_password="cluster-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

step "tongxing migrate, seed-demo, create-admin"
{
    "$bin" migrate
    "$bin" seed-demo
    printf '%s\n' "$admin_password" | "$bin" create-admin --username admin
    # Reports are read by an account that writes nothing: a caller who wrote within
    # TONGXING_REPLICA_MAX_LAG reads from the primary, to see their own writes.
    printf '%s\n' "$reader_password" | "$bin" create-admin --username reporter
} >"$work/setup.log" 2>&1

start_node() {
    local n=$1 port=$2
    TONGXING_BIND="127.0.0.1:$port" "$bin" serve >>"$work/node$n.log" 2>&1 &
    echo $! >"$work/node$n.pid"
    disown  # no job notice when the driver kills it
}
wait_ready() {
    local url=$1 what=$2
    for _ in $(seq 600); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" = 200 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "cluster: $what did not become ready ($url)" >&2
    return 1
}
step "nodes on 127.0.0.1:$node1_port and 127.0.0.1:$node2_port"
start_node 1 "$node1_port"
start_node 2 "$node2_port"
wait_ready "http://127.0.0.1:$node1_port/readyz" node1
wait_ready "http://127.0.0.1:$node2_port/readyz" node2

# --- HAProxy ---------------------------------------------------------------------------------
# As docker/haproxy.cfg (round robin, /readyz checks with fall 2 rise 2, forwarded client
# address, a connection that failed retried once on the other node), with checks every 500 ms
# instead of 2 s so a failover shows within a short run, and one addition: GET and HEAD, which
# change nothing, are also retried on the other node when a node died with the request (empty
# or cut answer). Writes never are: `disable-l7-retry` leaves them only the retry of a failed
# connection, when the request never reached a node. A write that reached a node that then
# died may have committed; whether it did only the service knows, so the client retries it
# with the same Idempotency-Key and gets the first answer again (docker/cluster.py does).
step "HAProxy on 127.0.0.1:$proxy_port"
cat >"$work/haproxy.cfg" <<EOF
global
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 1
    option redispatch
    retry-on conn-failure empty-response junk-response response-timeout

frontend api
    bind 127.0.0.1:$proxy_port
    http-request del-header Forwarded
    http-request del-header X-Forwarded-For
    http-request disable-l7-retry if !METH_GET
    option forwardfor
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    # Which node answered, for the driver's account of errors.
    http-response set-header X-Served-By %s
    server node1 127.0.0.1:$node1_port check
    server node2 127.0.0.1:$node2_port check
EOF
haproxy -c -q -f "$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >>"$work/haproxy.log" 2>&1 &
echo $! >"$work/haproxy.pid"
disown
wait_ready "http://127.0.0.1:$proxy_port/readyz" "the proxy"

# --- the load, the failures, the checks ------------------------------------------------------
step "setup done; the load begins"
length=(--seconds 180 --threads 6)
[ "$short" = 1 ] && length=(--seconds 22 --short)
# On failure the logs' tails come first and the summary line is repeated, so that it stays last.
rc=0
ADMIN_PASSWORD=$admin_password READER_PASSWORD=$reader_password PYTHONUNBUFFERED=1 python3 "$here/cluster.py" \
    --proxy "http://127.0.0.1:$proxy_port" \
    --work "$work" \
    --binary "$bin" \
    --node "node1=127.0.0.1:$node1_port" \
    --node "node2=127.0.0.1:$node2_port" \
    --pg-bin "$pg_bin" \
    --primary-url "$DATABASE_URL" \
    --replica-data "$replica" \
    --replica-port "$replica_port" \
    "${length[@]}" | tee "$work/driver.out" || rc=$?
if [ "$rc" -ne 0 ]; then
    tails
    tails_done=1
    tail -n 1 "$work/driver.out"
    exit "$rc"
fi
