#!/bin/sh
# Entrypoint of the pgvector/pgvector stand-in (tools/container_base.sh), the official image's first-start
# behaviour: an empty PGDATA gets a cluster whose superuser is POSTGRES_USER (password POSTGRES_PASSWORD) and a
# database POSTGRES_DB; a PGDATA that has one (a persistent volume) is used as it is. Runs postgres as "postgres".
set -eu
if [ "${1:-}" != postgres ]; then exec "$@"; fi
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    printf 'CREATE DATABASE "%s";\n' "$db" | as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  echo "database cluster created in $PGDATA (superuser $user, database $db)"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
