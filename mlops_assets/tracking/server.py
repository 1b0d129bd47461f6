"""Talking to a remote tracking server before relying on it: one quick request, no retries.

MLflow's client retries a dead server with backoff for minutes, and only then fails deep inside
a step. ``check_server`` fails in seconds, before training, naming the server and the variable to
fix. ``supports_logged_models`` tells the MLflow 3 line (logged-models API) from the 2.x line
that DagsHub runs, where an MLflow 3 client must log a model as plain run artifacts.
"""

import base64
from collections.abc import Mapping

from mlops_assets.tracking.location import PASSWORD_VAR, TOKEN_VAR, USERNAME_VAR, TrackingLocation


class TrackingServerError(RuntimeError):
    """The tracking server cannot be used; the message names the server and what to check."""


def _auth_headers(env: Mapping[str, str]) -> dict[str, str]:
    if env.get(TOKEN_VAR):
        return {"Authorization": f"Bearer {env[TOKEN_VAR]}"}
    if env.get(USERNAME_VAR):
        pair = f"{env[USERNAME_VAR]}:{env.get(PASSWORD_VAR, '')}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
    return {}


def _request(
    location: TrackingLocation, env: Mapping[str, str], method: str, path: str, timeout: float, **kw
):
    import requests

    url = f"{location.uri.rstrip('/')}/api/2.0/mlflow/{path}"
    # TLS as MLflow's client does it: a CA bundle, or no verification when asked for.
    verify = env.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or (
        env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() != "true"
    )
    headers = _auth_headers(env)
    return requests.request(method, url, headers=headers, timeout=timeout, verify=verify, **kw)


def check_server(
    location: TrackingLocation, env: Mapping[str, str], credential_vars: str, timeout: float = 10.0
) -> None:
    """Raise ``TrackingServerError`` unless the server answers MLflow's API and takes our
    credentials. ``env`` holds the credentials in effect (never echoed); ``credential_vars``
    names the variables a person sets to change them."""
    import requests

    server = location.display_uri
    try:
        response = _request(
            location, env, "GET", "experiments/get-by-name", timeout,
            params={"experiment_name": location.experiment},
        )  # fmt: skip
    except requests.RequestException as error:
        raise TrackingServerError(
            f"MLflow tracking server {server} is unreachable ({type(error).__name__}); "
            f"check {location.uri_source}."
        ) from None
    if response.status_code in (401, 403):
        raise TrackingServerError(
            f"MLflow tracking server {server} refused the credentials (HTTP "
            f"{response.status_code}); check {credential_vars}."
        )
    answered_mlflow = (
        response.status_code == 200 or _error_code(response) == "RESOURCE_DOES_NOT_EXIST"
    )
    if not answered_mlflow:
        raise TrackingServerError(
            f"{server} does not answer like an MLflow tracking server (HTTP "
            f"{response.status_code} from its experiments API); check {location.uri_source}."
        )


def _error_code(response) -> str | None:
    try:
        return response.json().get("error_code")
    except ValueError:
        return None


def supports_logged_models(
    location: TrackingLocation, env: Mapping[str, str], experiment_id: str, timeout: float = 10.0
) -> bool:
    """True on the MLflow 3 line: its logged-models search answers; 2.x servers say 404."""
    import requests

    try:
        response = _request(
            location, env, "POST", "logged-models/search", timeout,
            json={"experiment_ids": [experiment_id], "max_results": 1},
        )  # fmt: skip
    except requests.RequestException:
        return False
    return response.status_code == 200
