#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (the postgres-connector example's integration
# tests use it). Reuses a running server; otherwise installs Debian's postgresql package when missing
# (needs root), starts the cluster and waits until it accepts connections. The tests create their own role
# and database (examples/postgres-connector/scripts/ensure-db.js).
set -euo pipefail

HOST=127.0.0.1
PORT=5432

ready() { pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; }

if command -v pg_isready >/dev/null && ready; then
  echo "ensure-postgres: PostgreSQL already answers on $HOST:$PORT"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-postgres: PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
    exit 1
  fi
  echo "ensure-postgres: installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

VERSION="$(ls /etc/postgresql | sort -V | tail -n 1)"
echo "ensure-postgres: starting cluster $VERSION/main"
if command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start || service postgresql start
else
  service postgresql start
fi

for _ in $(seq 1 60); do
  if ready; then
    echo "ensure-postgres: PostgreSQL answers on $HOST:$PORT"
    exit 0
  fi
  sleep 1
done
echo "ensure-postgres: PostgreSQL did not become ready on $HOST:$PORT within 60 s" >&2
exit 1
