#!/usr/bin/env bash
# The streaming replica: on an empty data directory, a base backup of the primary (waiting until
# it answers), written with the standby settings (-R: standby.signal and primary_conninfo with
# the slot); then PostgreSQL as a hot standby, through the image's own entrypoint (which drops
# to the postgres user). Arguments: what to run afterwards, e.g. `postgres -c hot_standby=on`.
set -euo pipefail

primary_host="${PRIMARY_HOST:-postgres}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready --quiet --host "$primary_host" --port 5432; do
        echo "replica: waiting for the primary at $primary_host"
        sleep 2
    done
    # What a base backup cut short left behind is no database: start again from empty.
    mkdir -p "$PGDATA"
    find "$PGDATA" -mindepth 1 -delete
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    echo "replica: base backup from $primary_host"
    PGPASSWORD="$(cat /run/secrets/replication_password)" \
        gosu postgres pg_basebackup --host "$primary_host" --port 5432 --username replicator \
        --pgdata "$PGDATA" --write-recovery-conf --wal-method stream --slot replica \
        --checkpoint fast --no-password --progress
    echo "replica: base backup done; starting as a hot standby"
fi

exec docker-entrypoint.sh "$@"
