#!/bin/sh
# Runs once, when db-1's data dir is made (docker-entrypoint-initdb.d): the replication user of db-2 and halo_monitor, the read-only user of Halo's agent.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=replication_password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'replication_password';
-- pg_monitor: pg_stat_activity, pg_stat_database and the replication views, nothing else.
CREATE ROLE halo_monitor WITH LOGIN CONNECTION LIMIT 3;
GRANT pg_monitor TO halo_monitor;
SQL

# halo_monitor has no password (the agent's postgres source has no _file form for one): it may
# connect over loopback only, which is the agent sidecar sharing this container's network
# namespace. These lines go first: pg_hba.conf takes the first line that matches.
hba="$PGDATA/pg_hba.conf"
{
  echo "host all halo_monitor 127.0.0.1/32 trust"
  echo "host all halo_monitor ::1/128 trust"
  echo "host all halo_monitor all reject"
  cat "$hba"
  echo "host replication replicator all scram-sha-256"
} > "$hba.new"
mv "$hba.new" "$hba"
