"""Where runs are tracked, decided from settings and environment variables alone (no network).

Order: an explicit ``tracking_uri`` setting, then ``MLFLOW_TRACKING_URI``, then DagsHub when
``DAGSHUB_REPO_OWNER``, ``DAGSHUB_REPO_NAME`` and ``DAGSHUB_USER_TOKEN`` are all set, then the
embedded SQLite store in the project. Credentials are never part of the location's text: they are
read from the environment when a request is made, and only their variable names are reported.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mlops_assets.redaction import redact_url

DEFAULT_DAGSHUB_HOST = "https://dagshub.com"
DAGSHUB_VARS = ("DAGSHUB_REPO_OWNER", "DAGSHUB_REPO_NAME", "DAGSHUB_USER_TOKEN")
USERNAME_VAR, PASSWORD_VAR, TOKEN_VAR = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


def local_tracking_uri(directory: Path) -> str:
    """The embedded store: ``mlflow.db`` in the project, which ``mlflow ui`` opens from there."""
    return f"sqlite:///{directory / 'mlflow.db'}"


@dataclass(frozen=True)
class TrackingLocation:
    uri: str
    experiment: str
    uri_source: str  # the setting or variable that chose ``uri``: named when the server is wrong
    dagshub_repo: tuple[str, str] | None = None  # (owner, repo) when the location is DagsHub
    dagshub_host: str = DEFAULT_DAGSHUB_HOST

    @property
    def is_remote(self) -> bool:
        return self.uri.startswith(("http://", "https://"))

    @property
    def sqlite_file(self) -> Path | None:
        """The embedded store's database file (``sqlite:///<path>``); None for another store."""
        path = self.uri.removeprefix("sqlite:///")
        return Path(path) if path != self.uri else None

    @property
    def display_uri(self) -> str:
        return redact_url(self.uri)

    def credential_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """MLflow's own credential variables to set while talking to the server: on DagsHub,
        unless the MLflow variables are set, basic auth with the token as password (as DagsHub's
        client does). The username is ``DAGSHUB_USER_NAME``, else the repo owner, never the
        token: MLflow records the username in every run's ``mlflow.user`` tag."""
        if not self.dagshub_repo or env.get(USERNAME_VAR) or env.get(TOKEN_VAR):
            return {}
        username = env.get("DAGSHUB_USER_NAME") or self.dagshub_repo[0]
        return {USERNAME_VAR: username, PASSWORD_VAR: env["DAGSHUB_USER_TOKEN"]}

    def credential_vars(self, env: Mapping[str, str]) -> str:
        """The variables to check when the server refuses us."""
        if self.dagshub_repo and not env.get(USERNAME_VAR) and not env.get(TOKEN_VAR):
            return "DAGSHUB_USER_TOKEN"
        if env.get(TOKEN_VAR):
            return TOKEN_VAR
        if env.get(USERNAME_VAR):
            return f"{USERNAME_VAR} and {PASSWORD_VAR}"
        return f"{USERNAME_VAR} and {PASSWORD_VAR} (neither is set)"

    def run_url(self, experiment_id: str, run_id: str) -> str | None:
        """Where a person opens the run: DagsHub's experiment page, the MLflow UI of a server,
        nothing for the embedded store (no one else can open it)."""
        if self.dagshub_repo:
            owner, repo = self.dagshub_repo
            return f"{self.dagshub_host}/{owner}/{repo}/experiments/#/experiment/m_{run_id}"
        if self.is_remote:
            return f"{self.display_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
        return None

    def model_url(self, name: str, version: str) -> str | None:
        """Where a person opens a registered model's version (the server's MLflow UI)."""
        if self.is_remote:
            return f"{self.display_uri.rstrip('/')}/#/models/{quote(name)}/versions/{version}"
        return None


def resolve_location(
    env: Mapping[str, str],
    project: Path,
    tracking_uri: str = "",
    experiment_name: str = "",
    dagshub_host: str = "",
) -> TrackingLocation:
    experiment = experiment_name or env.get("MLFLOW_EXPERIMENT_NAME") or "mlops-assets"
    if tracking_uri:
        return TrackingLocation(tracking_uri, experiment, "the tracking resource's tracking_uri")
    if env.get("MLFLOW_TRACKING_URI"):
        return TrackingLocation(env["MLFLOW_TRACKING_URI"], experiment, "MLFLOW_TRACKING_URI")
    if all(env.get(v) for v in DAGSHUB_VARS):
        host = (dagshub_host or env.get("DAGSHUB_CLIENT_HOST") or DEFAULT_DAGSHUB_HOST).rstrip("/")
        owner, repo = env["DAGSHUB_REPO_OWNER"], env["DAGSHUB_REPO_NAME"]
        return TrackingLocation(
            f"{host}/{owner}/{repo}.mlflow",
            experiment,
            "DAGSHUB_REPO_OWNER, DAGSHUB_REPO_NAME and the DagsHub host",
            dagshub_repo=(owner, repo),
            dagshub_host=host,
        )
    return TrackingLocation(local_tracking_uri(project), experiment, "the local default")
