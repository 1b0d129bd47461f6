#!/usr/bin/env bash
# A self-hosted MLflow tracking server, for teams that do not use DagsHub: runs, params and metrics
# in Postgres, artifacts (models, plots, reports) stored by the server itself (proxied), so clients
# need only the server's URL, no bucket credentials. Point the pipeline at it with
# MLFLOW_TRACKING_URI=http://<host>:<port>.
#
# Needs: MLFLOW_BACKEND_STORE_URI, e.g. postgresql+psycopg2://mlflow@db:5432/mlflow (the password
# is best kept out of the URI: PGPASSWORD or ~/.pgpass; name the driver, SQLAlchemy 2.1 maps a
# bare postgresql:// to psycopg 3), and MLFLOW_ARTIFACTS_DESTINATION (a directory, or
# s3://bucket/prefix, gs://..., wasbs://... with that store's credentials on this server only).
# Optional: MLFLOW_HOST (127.0.0.1), MLFLOW_PORT (5000), MLFLOW_WORKERS (2).
set -euo pipefail

for variable in MLFLOW_BACKEND_STORE_URI MLFLOW_ARTIFACTS_DESTINATION; do
  if [[ -z "${!variable:-}" ]]; then
    echo "mlflow/server.sh: $variable is not set" >&2
    exit 2
  fi
done

exec mlflow server \
  --backend-store-uri "$MLFLOW_BACKEND_STORE_URI" \
  --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION" \
  --serve-artifacts \
  --host "${MLFLOW_HOST:-127.0.0.1}" \
  --port "${MLFLOW_PORT:-5000}" \
  --workers "${MLFLOW_WORKERS:-2}"
