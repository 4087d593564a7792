#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (the postgres-connector example's integration
# tests use it). Reuses a running server; otherwise installs Debian's postgresql package when missing
# (needs root), starts the cluster and waits until it accepts connections. The tests create their own role
# and database (examples/postgres-connector/scripts/ensure-db.js).
set -euo pipefail

HOST=127.0.0.1
PORT=5432

# pg_isready when installed; otherwise a plain TCP connect through bash's /dev/tcp, so that a server that already
# answers (installed some other way, or in another container) is never installed over
ready() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null
  else
    timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null
  fi
}

if ready; then
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

# The cluster configured for port 5432 (pg_lsclusters: Ver Cluster Port Status ...), not merely the newest
# version: a machine with 15/main on 5432 and 16/main on 5433 must start 15/main. With none on 5432, the newest.
CLUSTER="$(pg_lsclusters -h 2>/dev/null | awk -v port="$PORT" '$3 == port { print $1, $2; exit }' || true)"
if [ -z "$CLUSTER" ]; then
  CLUSTER="$(pg_lsclusters -h 2>/dev/null | sort -V | tail -n 1 | awk '{ print $1, $2 }' || true)"
  [ -n "$CLUSTER" ] && echo "ensure-postgres: no cluster is configured for port $PORT; trying the newest, $CLUSTER" >&2
fi
if [ -n "$CLUSTER" ] && command -v pg_ctlcluster >/dev/null; then
  read -r VERSION NAME <<<"$CLUSTER"
  echo "ensure-postgres: starting cluster $VERSION/$NAME"
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start || service postgresql start
else
  echo "ensure-postgres: no cluster listed by pg_lsclusters; starting the postgresql service"
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
