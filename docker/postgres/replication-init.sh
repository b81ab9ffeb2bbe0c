#!/usr/bin/env bash
# The primary's side of streaming replication, run by the postgres image on its first start
# (mounted into /docker-entrypoint-initdb.d, so it runs only while the data directory is new):
# a role that may replicate and nothing else, its pg_hba entry, and a physical slot for the
# replica, so the primary keeps the WAL the replica has not received yet (up to
# max_slot_wal_keep_size, set on the command line in compose.yaml).
#
# It is safe to run again. On a data directory initialised before the replica was added, run it
# once by hand:
#   docker compose -f docker/compose.yaml exec postgres bash /docker-entrypoint-initdb.d/10-replication.sh
#
# The image either runs or sources this file (sourced when it is not executable), so it sets
# no shell options and does not exit.

# The password is read by psql itself (not passed in its arguments, which `ps` shows).
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --output /dev/null \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set pw `cat /run/secrets/replication_password`
SELECT format('CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'replicator') \gexec
SELECT format('ALTER ROLE replicator WITH REPLICATION LOGIN PASSWORD %L', :'pw') \gexec
SELECT pg_create_physical_replication_slot('replica')
 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'replica');
SQL

# Replication connections match only entries naming `replication` (not `all`): this one admits
# the replicator from the compose network, with its password.
hba_line='host replication replicator 172.30.80.0/24 scram-sha-256'
if ! grep -qxF "$hba_line" "$PGDATA/pg_hba.conf"; then
    printf '%s\n' "$hba_line" >> "$PGDATA/pg_hba.conf"
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --quiet --tuples-only --command 'SELECT pg_reload_conf()' > /dev/null
unset hba_line
