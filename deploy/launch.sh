#!/usr/bin/env bash
# The production processes of one machine, each on its own: the code server (loads mlops_assets and
# runs the retrains), the webserver (UI, GraphQL) and the daemon (run queue, sensors, schedules,
# run monitoring). SIGTERM or Ctrl-C stops all three; if one of them dies, the others are stopped
# too and the launcher exits non-zero, so the supervisor around it (systemd, a container runtime)
# restarts the set. Run history and sensor state live in Postgres (deploy/dagster.yaml), so a
# restart loses nothing.
#
# Needs: the project installed with the `deploy` extra on PATH, and DAGSTER_PG_HOST,
# DAGSTER_PG_USERNAME, DAGSTER_PG_PASSWORD, DAGSTER_PG_DB (DAGSTER_PG_PORT defaults to 5432).
# Optional: DAGSTER_HOME (default <project>/.dagster_deploy), DAGSTER_CODE_SERVER_HOST/PORT
# (127.0.0.1:4000), DAGSTER_WEBSERVER_HOST/PORT (127.0.0.1:3000), DAGSTER_STOP_GRACE_SECONDS (30),
# DAGSTER_CODE_SERVER_STARTUP_SECONDS (180).
set -euo pipefail
# Job control: each process gets its own process group, stopped as a whole (the code server's
# with its run subprocesses).
set -m
# Dagster's processes map SIGTERM onto their SIGINT handler; a SIGINT ignored by whoever started
# this script (nohup, a non-interactive shell's `&`) would make them ignore SIGTERM as well.
run() { env --default-signal=INT "$@"; }

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_DIR=${MLOPS_ASSETS_PROJECT_DIR:-$(dirname "$DEPLOY_DIR")}
export MLOPS_ASSETS_PROJECT_DIR=$PROJECT_DIR
export DAGSTER_HOME=${DAGSTER_HOME:-$PROJECT_DIR/.dagster_deploy}
export DAGSTER_PG_PORT=${DAGSTER_PG_PORT:-5432}
export DAGSTER_CODE_SERVER_HOST=${DAGSTER_CODE_SERVER_HOST:-127.0.0.1}
export DAGSTER_CODE_SERVER_PORT=${DAGSTER_CODE_SERVER_PORT:-4000}
WEBSERVER_HOST=${DAGSTER_WEBSERVER_HOST:-127.0.0.1}
WEBSERVER_PORT=${DAGSTER_WEBSERVER_PORT:-3000}
GRACE=${DAGSTER_STOP_GRACE_SECONDS:-30}
STARTUP=${DAGSTER_CODE_SERVER_STARTUP_SECONDS:-180}

log() { echo "launch.sh: $*" >&2; }

for variable in DAGSTER_PG_HOST DAGSTER_PG_USERNAME DAGSTER_PG_PASSWORD DAGSTER_PG_DB; do
  if [[ -z "${!variable:-}" ]]; then
    log "$variable is not set: deploy/dagster.yaml reads the Postgres connection from it"
    exit 2
  fi
done

# deploy/dagster.yaml is the instance's single source: linked, not copied. A dagster.yaml of
# your own in DAGSTER_HOME (a regular file) is left as it is.
mkdir -p "$DAGSTER_HOME"
if [[ ! -e "$DAGSTER_HOME/dagster.yaml" || -L "$DAGSTER_HOME/dagster.yaml" ]]; then
  ln -sfn "$DEPLOY_DIR/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
fi

pids=()
stopping=0

any_alive() {  # any process left in the given process groups
  local pid
  for pid in "$@"; do kill -0 -- "-$pid" 2>/dev/null && return 0; done
  return 1
}

stop_groups() {  # SIGTERM, then SIGKILL after the grace period
  local waited
  (($# > 0)) || return 0
  kill -TERM -- "${@/#/-}" 2>/dev/null || true
  for ((waited = 0; waited < GRACE * 5; waited++)); do
    any_alive "$@" || return 0
    sleep 0.2
  done
  log "still running after ${GRACE}s: SIGKILL"
  kill -KILL -- "${@/#/-}" 2>/dev/null || true
}

stop() {
  stopping=1
  trap - TERM INT
  log "stopping"
  # Clients first: the code server waits for their open calls before it exits.
  stop_groups "${pids[@]:1}"
  stop_groups "${pids[0]}"
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' TERM INT

cd "$PROJECT_DIR"
run dagster code-server start -h "$DAGSTER_CODE_SERVER_HOST" -p "$DAGSTER_CODE_SERVER_PORT" \
  -m mlops_assets.definitions --location-name mlops_assets &
pids+=($!)

# The webserver and the daemon would only report a broken location until the code is loaded.
started=$SECONDS
while true; do
  if dagster api grpc-health-check -h "$DAGSTER_CODE_SERVER_HOST" -p "$DAGSTER_CODE_SERVER_PORT" \
    >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "${pids[0]}" 2>/dev/null || ((SECONDS - started >= STARTUP)); then
    log "the code server on $DAGSTER_CODE_SERVER_HOST:$DAGSTER_CODE_SERVER_PORT did not come up"
    stop
    exit 1
  fi
  sleep 1
done
log "code server ready on $DAGSTER_CODE_SERVER_HOST:$DAGSTER_CODE_SERVER_PORT"

run dagster-webserver -h "$WEBSERVER_HOST" -p "$WEBSERVER_PORT" -w "$DEPLOY_DIR/workspace.yaml" &
pids+=($!)
run dagster-daemon run -w "$DEPLOY_DIR/workspace.yaml" &
pids+=($!)
log "webserver on http://$WEBSERVER_HOST:$WEBSERVER_PORT, daemon started (DAGSTER_HOME=$DAGSTER_HOME)"

status=0
wait -n "${pids[@]}" || status=$?
if ((stopping == 0)); then
  log "a process exited (status $status): stopping the others"
  stop
  exit $((status == 0 ? 1 : status))
fi
