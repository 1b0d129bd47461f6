"""The environment, read in one place: every ``MLOPS_ASSETS_*`` variable, and GitHub's token,
repository and API URL for the resources.

Standard variables stay with the code that speaks their system's language, as their own tools
read them: MLflow's and DagsHub's (``MLFLOW_*``, ``DAGSHUB_*``) in ``tracking/location.py`` and
``tracking/server.py``; what GitHub Actions says about the run (``GITHUB_SHA``, ``GITHUB_REF``,
the event payload, ...) in ``github/context.py`` and the git provenance; ``DAGSTER_HOME`` in
Dagster itself and ``cli.py``.

When things are read:
- ``definitions.py`` reads these settings and ``params.yaml`` when the code location loads
  (each CLI run, each ``dagster dev`` reload) and hands explicit values to the resources.
- The sensors read their watch settings and ``params.yaml``'s ``automation`` section at every
  tick, so changing them needs no restart (the schedule's cron and the on/off defaults do).
- A step reads ``MLOPS_ASSETS_FORCE``, what GitHub Actions says about the run (``GITHUB_SHA``,
  the event payload) and what MLflow reads itself (credentials) when it runs.
No Dagster import: the plain packages and the tests use it too.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlops_assets.params import PARAMS_FILE, AutomationParams, load_params

PROJECT_DIR = "MLOPS_ASSETS_PROJECT_DIR"
ARTIFACTS_DIR = "MLOPS_ASSETS_ARTIFACTS_DIR"
FORCE = "MLOPS_ASSETS_FORCE"
VERBOSE = "MLOPS_ASSETS_VERBOSE"
DVC_REMOTE = "MLOPS_ASSETS_DVC_REMOTE"
COMMENT_ON = "MLOPS_ASSETS_COMMENT_ON"
WATCH_REPO = "MLOPS_ASSETS_WATCH_REPO"
WATCH_BRANCHES = "MLOPS_ASSETS_WATCH_BRANCHES"
WATCH_PATHS = "MLOPS_ASSETS_WATCH_PATHS"
SENSOR_SWITCH = "MLOPS_ASSETS_SENSOR"
SENSOR_INTERVAL = "MLOPS_ASSETS_SENSOR_INTERVAL"
SCHEDULE_SWITCH = "MLOPS_ASSETS_SCHEDULE"
RETRAIN_CRON = "MLOPS_ASSETS_RETRAIN_CRON"
RETRAIN_TIMEZONE = "MLOPS_ASSETS_RETRAIN_TIMEZONE"
REGISTERED_MODEL = "MLOPS_ASSETS_REGISTERED_MODEL"  # empty: the experiment name
CHAMPION_BRANCH = "MLOPS_ASSETS_CHAMPION_BRANCH"  # default main
LOCK_WAIT = "MLOPS_ASSETS_LOCK_WAIT"  # seconds a run waits for the one running; default 600
SWEEP = "MLOPS_ASSETS_SWEEP"  # `mlops-assets run --sweep`'s arguments, JSON, for every process
EXECUTOR = "MLOPS_ASSETS_EXECUTOR"  # default, k8s or celery: where a run's steps execute
COMMENT_BODY = "MLOPS_ASSETS_COMMENT_BODY"  # chatops: the comment, passed by the workflow's env:
# GitHub's own names, as Actions sets them.
GITHUB_TOKEN = "GITHUB_TOKEN"
GITHUB_REPOSITORY = "GITHUB_REPOSITORY"
GITHUB_API_URL = "GITHUB_API_URL"
DEFAULT_GITHUB_API_URL = "https://api.github.com"

OFF_VALUES = {"off", "0", "false", "no", "stopped"}


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def switched_on(variable: str, env: Mapping[str, str] | None = None) -> bool:
    """On unless the variable says off (unset means on)."""
    return _env(env).get(variable, "on").strip().lower() not in OFF_VALUES


def _list(variable: str, env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(variable, "").split(",") if item.strip())


class SettingError(ValueError):
    """An environment variable's value that cannot be used: a user's mistake, said in one line
    naming the variable."""


class ProjectNotFound(ValueError):
    """No project here: a user's mistake (the wrong directory), said in one line."""


def project_dir(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The directory holding params.yaml, data/ and artifacts/: ``$MLOPS_ASSETS_PROJECT_DIR``,
    else the nearest ancestor of the working directory holding params.yaml, as git and DVC find
    their roots, so every tool started in a project (the CLI, ``dagster dev``, DVC's stages)
    works on that project and not on wherever the package is installed."""
    configured = _env(env).get(PROJECT_DIR)
    if configured:
        return Path(configured).resolve()
    start = (cwd or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        if (directory / PARAMS_FILE).is_file():
            return directory
    raise ProjectNotFound(
        f"no {PARAMS_FILE} in {start} or any directory above it: run this in a project "
        f"(the directory holding {PARAMS_FILE}; see docs/configuration.md), "
        f"create one with `mlops-assets init`, or set {PROJECT_DIR}"
    )


def params_path(env: Mapping[str, str] | None = None) -> Path:
    return project_dir(env) / PARAMS_FILE


def artifacts_dir(env: Mapping[str, str] | None = None) -> Path:
    configured = _env(env).get(ARTIFACTS_DIR)
    return Path(configured) if configured else project_dir(env) / "artifacts"


def forced(env: Mapping[str, str] | None = None) -> bool:
    """``MLOPS_ASSETS_FORCE``: recompute every asset, unchanged or not."""
    return truthy(_env(env).get(FORCE))


def verbose(env: Mapping[str, str] | None = None) -> bool:
    """``MLOPS_ASSETS_VERBOSE``: Dagster's full event log instead of the short run log."""
    return truthy(_env(env).get(VERBOSE))


def dvc_remote(env: Mapping[str, str] | None = None) -> str:
    """``MLOPS_ASSETS_DVC_REMOTE``; empty: the repository's default DVC remote."""
    return _env(env).get(DVC_REMOTE, "")


def registered_model(env: Mapping[str, str] | None = None) -> str:
    """``MLOPS_ASSETS_REGISTERED_MODEL``; empty: the experiment's name."""
    return _env(env).get(REGISTERED_MODEL, "")


def champion_branch(env: Mapping[str, str] | None = None) -> str:
    """``MLOPS_ASSETS_CHAMPION_BRANCH``: clean passing runs of it move the champion (main)."""
    return _env(env).get(CHAMPION_BRANCH, "") or "main"


def comment_on(env: Mapping[str, str] | None = None) -> str:
    """``MLOPS_ASSETS_COMMENT_ON``: where the report is posted (auto)."""
    return _env(env).get(COMMENT_ON) or "auto"


def lock_wait_seconds(env: Mapping[str, str] | None = None) -> float:
    """``MLOPS_ASSETS_LOCK_WAIT``: seconds a run waits for the project's running run (600)."""
    value = _env(env).get(LOCK_WAIT, "").strip()
    try:
        seconds = float(value) if value else 600.0
    except ValueError:
        raise SettingError(f"{LOCK_WAIT} must be a number of seconds, not {value!r}") from None
    if seconds < 0:
        raise SettingError(f"{LOCK_WAIT} must be 0 or more seconds, not {value!r}")
    return seconds


def sweep_arguments(env: Mapping[str, str] | None = None) -> str:
    """``MLOPS_ASSETS_SWEEP``: the ``--sweep`` arguments of this run as a JSON list; set by
    ``mlops-assets run`` so the code location, loaded again in each step's process, sees them."""
    return _env(env).get(SWEEP, "").strip()


def sweep_environment(arguments: list[str]) -> dict[str, str]:
    """What ``mlops-assets run --sweep`` puts in the environment (``sweep_arguments``)."""
    import json

    return {SWEEP: json.dumps(arguments)}


EXECUTORS = ("default", "k8s", "celery")


def executor(env: Mapping[str, str] | None = None) -> str:
    """``MLOPS_ASSETS_EXECUTOR``: ``default`` (unset), ``k8s`` or ``celery``."""
    name = _env(env).get(EXECUTOR, "").strip().lower() or "default"
    if name not in EXECUTORS:
        raise SettingError(f"{EXECUTOR}={name!r}: expected one of {', '.join(EXECUTORS)}")
    return name


def comment_body(env: Mapping[str, str] | None = None) -> str | None:
    """``MLOPS_ASSETS_COMMENT_BODY``: the comment a ChatOps workflow passes through ``env:``;
    None when unset (the event payload's body is used)."""
    return _env(env).get(COMMENT_BODY)


def automation_params(env: Mapping[str, str] | None = None) -> AutomationParams:
    return load_params(params_path(env)).automation


@dataclass(frozen=True)
class GitHubAccess:
    """A token and the repository it may act on, for the pull-request sensor and the report."""

    token: str = field(repr=False)  # never in logs or tracebacks
    repository: str
    api_url: str = DEFAULT_GITHUB_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "GitHubAccess | None":
        """From GitHub Actions' variables; None without a token or a repository."""
        env = _env(env)
        token, repository = env.get(GITHUB_TOKEN), env.get(GITHUB_REPOSITORY)
        if not token or not repository:
            return None
        if repository.count("/") != 1:
            raise SettingError(f"{GITHUB_REPOSITORY}={repository!r}: expected owner/name")
        return cls(token, repository, (env.get(GITHUB_API_URL) or DEFAULT_GITHUB_API_URL))


@dataclass(frozen=True)
class WatchSettings:
    """Which repository, refs and paths the git sensor watches."""

    repo: Path
    branches: tuple[str, ...]  # empty: whichever branch is checked out (or HEAD when detached)
    globs: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "WatchSettings":
        env = _env(env)
        repo = env.get(WATCH_REPO)
        return cls(
            repo=Path(repo).expanduser().resolve() if repo else project_dir(env),
            branches=_list(WATCH_BRANCHES, env),
            globs=_list(WATCH_PATHS, env) or tuple(automation_params(env).watch_paths),
        )


def sensor_interval(env: Mapping[str, str] | None = None) -> int:
    raw = _env(env).get(SENSOR_INTERVAL, "30")
    try:
        seconds = int(raw)
    except ValueError:
        raise SettingError(f"{SENSOR_INTERVAL}={raw!r}: expected whole seconds") from None
    if seconds < 1:
        raise SettingError(f"{SENSOR_INTERVAL}={raw!r}: must be at least 1")
    return seconds


@dataclass(frozen=True)
class ScheduleSettings:
    cron: str
    cron_source: str  # where the cron came from, for error messages
    timezone: str
    on: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ScheduleSettings":
        env = _env(env)
        if env.get(RETRAIN_CRON):
            cron, source = env[RETRAIN_CRON], RETRAIN_CRON
        else:
            cron = automation_params(env).retrain_cron
            source = f"{params_path(env)}: automation.retrain_cron"
        timezone = env.get(RETRAIN_TIMEZONE) or "UTC"
        return cls(cron, source, timezone, switched_on(SCHEDULE_SWITCH, env))
