#!/usr/bin/env bash
# A PostgreSQL server on loopback for the deployment tests (mlops_assets_tests/test_deploy.py).
#
# Installs Debian's postgresql only when no server binary is present, starts a server only when
# nothing answers on MLOPS_ASSETS_TEST_PG_HOST:PORT, and makes sure the test role (allowed to
# create databases: every test gets its own) and its database exist. Idempotent: run it as often
# as you like. The password is never echoed, put on a command line or written to a log.
#
# Settings (the tests read the same variables, with the same defaults):
#   MLOPS_ASSETS_TEST_PG_HOST      127.0.0.1
#   MLOPS_ASSETS_TEST_PG_PORT      5432
#   MLOPS_ASSETS_TEST_PG_USER      mlops_assets
#   MLOPS_ASSETS_TEST_PG_PASSWORD  a throwaway password for a loopback-only test role
#   MLOPS_ASSETS_TEST_PG_DATA      /tmp/mlops-assets-postgres (data dir of a server started here)
set -euo pipefail

HOST=${MLOPS_ASSETS_TEST_PG_HOST:-127.0.0.1}
PORT=${MLOPS_ASSETS_TEST_PG_PORT:-5432}
ROLE=${MLOPS_ASSETS_TEST_PG_USER:-mlops_assets}
PASSWORD=${MLOPS_ASSETS_TEST_PG_PASSWORD:-mlops-assets-test}
DATA=${MLOPS_ASSETS_TEST_PG_DATA:-/tmp/mlops-assets-postgres}
SOCKETS="$DATA.sockets"

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {  # the newest installed server's bin directory
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$dir" && -x "$dir/postgres" ]] && echo "$dir"
}

listening() { pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; }

as_postgres() { runuser -u postgres -- "$@"; }

install_server() {
  if [[ -n "$(pg_bin)" ]]; then return; fi
  if [[ $(id -u) -ne 0 ]]; then
    log "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
    exit 1
  fi
  log "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
}

start_server() {
  local bin
  bin=$(pg_bin)
  if [[ $(id -u) -ne 0 ]]; then
    log "no server on $HOST:$PORT, and starting one as the postgres user needs root"
    exit 1
  fi
  mkdir -p "$DATA" "$SOCKETS"
  chown postgres:postgres "$DATA" "$SOCKETS"
  chmod 700 "$DATA"
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    log "initialising a cluster in $DATA"
    as_postgres "$bin/initdb" -D "$DATA" -U postgres --auth-local=peer \
      --auth-host=scram-sha-256 >/dev/null
  fi
  log "starting a server on $HOST:$PORT (data in $DATA, log in $DATA/server.log)"
  as_postgres "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start \
    -o "-c listen_addresses=$HOST -p $PORT -c unix_socket_directories=$SOCKETS" >/dev/null
}

role_can_connect() {
  PGPASSWORD=$PASSWORD psql -h "$HOST" -p "$PORT" -U "$ROLE" -d "$ROLE" -Atqc 'select 1' \
    >/dev/null 2>&1
}

create_role_and_database() {
  # Through the local socket as the postgres superuser: the one started here, or the
  # distribution's default socket for a server that was already running.
  local socket=/var/run/postgresql
  [[ -S "$SOCKETS/.s.PGSQL.$PORT" ]] && socket=$SOCKETS
  log "creating role and database '$ROLE'"
  # The SQL goes through stdin, so the password appears in no process list and no log.
  as_postgres psql -q -v ON_ERROR_STOP=1 -h "$socket" -p "$PORT" -d postgres >/dev/null <<SQL
SELECT format('CREATE ROLE %I LOGIN CREATEDB', '$ROLE')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
ALTER ROLE "$ROLE" LOGIN CREATEDB PASSWORD '${PASSWORD//\'/\'\'}';
SELECT format('CREATE DATABASE %I OWNER %I', '$ROLE', '$ROLE')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$ROLE') \gexec
SQL
}

if ! listening; then
  install_server
  # The package may have started its own cluster on the default port.
  listening || start_server
fi
if ! role_can_connect; then
  create_role_and_database
fi
role_can_connect || { log "role '$ROLE' still cannot connect to $HOST:$PORT"; exit 1; }
log "ready: role '$ROLE' on $HOST:$PORT"
