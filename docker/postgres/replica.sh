#!/usr/bin/env bash
# The streaming replica: without a data directory, a base backup of the primary (waiting until it
# answers), written with the standby settings (-R: standby.signal, and primary_conninfo naming
# the slot); then PostgreSQL as a hot standby, through the image's own entrypoint (which drops to
# the postgres user). Arguments: what to run afterwards, e.g. `postgres -c hot_standby=on`.
#
# PGDATA is a directory inside the volume: the backup is written beside it and renamed into place
# only once complete, so a backup cut short (the container stopped or killed) is never started
# as a database; the next start begins it again.
set -euo pipefail

primary_host="${PRIMARY_HOST:-postgres}"
incoming="$(dirname "$PGDATA")/incoming"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready --quiet --host "$primary_host" --port 5432; do
        echo "replica: waiting for the primary at $primary_host"
        sleep 2
    done
    rm -rf "$incoming"
    mkdir -p "$incoming"
    chown postgres:postgres "$(dirname "$PGDATA")" "$incoming"
    chmod 0700 "$incoming"
    echo "replica: base backup from $primary_host"
    PGPASSWORD="$(cat /run/secrets/replication_password)" \
        gosu postgres pg_basebackup --host "$primary_host" --port 5432 --username replicator \
        --pgdata "$incoming" --write-recovery-conf --wal-method stream --slot replica \
        --checkpoint fast --no-password
    rm -rf "$PGDATA"
    mv "$incoming" "$PGDATA"
    echo "replica: base backup done; starting as a hot standby"
fi

exec docker-entrypoint.sh "$@"
