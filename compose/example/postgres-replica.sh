#!/bin/sh
# Starts db-2, the streaming replica of db-1: the first time, its data dir is copied from db-1 with pg_basebackup (which also writes the standby settings); then postgres runs as a hot standby.
set -eu

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready --host db-1 --username replicator --quiet; do
    echo "db-2: waiting for db-1" >&2
    sleep 2
  done
  PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD" pg_basebackup --host db-1 --username replicator \
    --pgdata "$PGDATA" --write-recovery-conf --wal-method stream --checkpoint fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
