"""Deciding before launching: a ``mlops-assets run`` that would change nothing is not launched.

Launching a Dagster run costs seconds (Dagster's import, the code location, the instance)
before any step can reuse an output. When a project is exactly as it was when the last
successful ``mlops-assets run`` started, a run would reuse every output and post nothing new:
the same data bytes, params.yaml values, model builder and package source, the same commit,
branch and clean-or-dirty tree, the same CI and tracking settings, ``latest`` where that run
left it. Then
the command prints that run's summary again instead. Anything else (a new commit or pull
request, a forced run, run config) launches the run, whose skip-unchanged steps still reuse
what they can and post the comment for the new commit.

The state is hashed, never stored as it is: settings such as ``MLFLOW_TRACKING_URI`` may hold
credentials. Nothing here imports Dagster, TensorFlow, MLflow or pandas.
"""

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mlops_assets
from mlops_assets.artifacts.atomic import write_text_atomic
from mlops_assets.artifacts.store import LATEST, RunArtifacts
from mlops_assets.fingerprints import project_inputs
from mlops_assets.git.checkout import uncommitted_sources
from mlops_assets.git.commands import git_or_none

RECORD = "prelaunch.json"  # in the artifacts directory
# What else decides what a run does: where it tracks, registers, posts and reads data.
CONTEXT_PREFIXES = ("MLOPS_ASSETS_", "MLFLOW_", "DAGSHUB_", "GITHUB_", "DAGSTER_HOME")


def package_hash() -> str:
    """The package's own source: an upgrade or an edited asset launches the run."""
    root = Path(mlops_assets.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def project_state(project: Path, artifacts: Path, env: Mapping[str, str]) -> str | None:
    """A hash of everything a run's outcome depends on, or None when it cannot be known (a bad
    params.yaml, a missing data file: the run must say so itself)."""
    inputs = project_inputs(project)
    if inputs is None:
        return None
    state = {
        "params": inputs.params.model_dump(mode="json", exclude={"automation"}),
        "data": inputs.data_hash,
        "model": inputs.model_source,
        "package": package_hash(),
        "commit": git_or_none(project, "rev-parse", "HEAD"),
        "branch": git_or_none(project, "branch", "--show-current"),
        "dirty": uncommitted_sources(project, artifacts),
        "context": sorted((k, v) for k, v in env.items() if k.startswith(CONTEXT_PREFIXES)),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class LastRun:
    """What the last successful run left for the next one to compare with."""

    state: str
    run_id: str
    summary: list[str]
    latest: str | None  # where ``latest`` pointed when it ended


def record_path(artifacts: Path) -> Path:
    return artifacts / RECORD


def latest_target(artifacts: Path) -> str | None:
    latest = artifacts / LATEST
    return os.readlink(latest) if latest.is_symlink() else None


def save(artifacts: Path, state: str, run_id: str, summary: list[str]) -> None:
    """Keep what run ``run_id`` started from (``state``) and printed, for the next run."""
    last = {"state": state, "run_id": run_id, "summary": summary}
    write_text_atomic(
        record_path(artifacts), json.dumps({**last, "latest": latest_target(artifacts)}) + "\n"
    )


def forget(artifacts: Path) -> None:
    """After a failed run: the next one launches."""
    record_path(artifacts).unlink(missing_ok=True)


def unchanged_since(artifacts: Path, state: str | None) -> LastRun | None:
    """The last successful run, if the project's ``state`` is the one it started from and its
    outputs are still whole; None when a run must be launched."""
    try:
        record = json.loads(record_path(artifacts).read_text(encoding="utf-8"))
        last = LastRun(record["state"], record["run_id"], list(record["summary"]), record["latest"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if state is None or last.state != state or last.latest != latest_target(artifacts):
        return None  # changed, or another run (a rollback, the daemon) moved latest since
    store = RunArtifacts(artifacts)
    if store.latest.is_symlink() and not store.is_complete(store.latest):
        return None  # the link dangles: a run repairs it
    return last
