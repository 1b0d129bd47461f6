"""Which model scores: ``champion`` (the registry's alias), a registered version (``3`` or
``v3``), or ``latest`` (``artifacts/latest``, the last good run's, with no registry needed).
The default is the champion, else ``latest`` where there is none (no store yet, the model not
registered, or no run promoted one), said in the description.

A registered version's files come from its own run directory when it is still on disk, else
from the registry (the model) and its report run (``labels.json``), as rollback restores them.
"""

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlops_assets.artifacts.layout import LABELS_FILE, MODEL_FILE
from mlops_assets.artifacts.store import LATEST, RUNS
from mlops_assets.records import ModelVersion
from mlops_assets.scoring import ScoringError
from mlops_assets.tracking.location import TrackingLocation

CHAMPION, LATEST_CHOICE, AUTO = "champion", "latest", ""


@dataclass(frozen=True)
class ScoringModel:
    path: Path  # model.keras
    labels: list | None  # classification: the class labels, in the model's output order
    description: str  # which model, for the user: "the champion, v3 of 'mlops-assets'"


def read_labels(path: Path | None) -> list | None:
    if path is None or not path.is_file():
        return None
    return list(json.loads(path.read_text(encoding="utf-8")))


def latest_model(artifacts: Path, why: str = "") -> ScoringModel:
    model = artifacts / LATEST / MODEL_FILE
    if not model.is_file():
        raise ScoringError(
            f"no model at {model}{why}: train one first (`mlops-assets run`), or name a "
            "registered version with --model"
        )
    resolved = model.resolve()
    return ScoringModel(
        path=resolved,
        labels=read_labels(resolved.with_name(LABELS_FILE)),
        description=f"the latest run's model ({resolved.parent.name}){why}",
    )


def _has_store(location: TrackingLocation) -> bool:
    """False for an embedded store not created yet (asking would create it)."""
    return location.sqlite_file is None or location.sqlite_file.exists()


def _registered_files(
    version: ModelVersion, location: TrackingLocation, artifacts: Path, work_dir: Path
) -> tuple[Path, list | None]:
    """The version's model and labels: its run directory's, else downloaded into ``work_dir``."""
    from mlops_assets.tracking import mlflow_client, registry

    own = artifacts / RUNS / version.dagster_run_id
    if version.dagster_run_id and (own / MODEL_FILE).is_file():
        return own / MODEL_FILE, read_labels(own / LABELS_FILE)
    model = registry.download_model(location, version.name, version.version, work_dir / "model")
    labels = read_labels(next(iter(sorted(model.parent.rglob(LABELS_FILE))), None))
    for run_id in dict.fromkeys(filter(None, (version.report_run_id, version.run_id))):
        if labels is None:
            found = mlflow_client.download_artifact(
                location, run_id, LABELS_FILE, work_dir / "labels" / run_id
            )
            labels = read_labels(found)
    return model, labels


def resolve_model(
    choice: str,
    *,
    artifacts: Path,
    location: TrackingLocation,
    model_name: str,
    work_dir: Path | None = None,
    check_timeout: float = 10.0,
) -> ScoringModel:
    """The model ``choice`` names (``champion``, ``latest``, a version, or empty for the
    champion else latest), its files on local disk (``work_dir`` holds downloads)."""
    choice = choice.strip()
    if choice == LATEST_CHOICE:
        return latest_model(artifacts)
    if choice not in (AUTO, CHAMPION) and not choice.removeprefix("v").isdigit():
        raise ScoringError(
            f"--model {choice!r}: expected champion, latest or a version number (3 or v3)"
        )
    if not _has_store(location):
        if choice == AUTO:
            return latest_model(artifacts, " (no MLflow store yet, so no champion)")
        raise ScoringError(f"--model {choice}: there is no MLflow store at {location.sqlite_file}")

    from mlops_assets.tracking import mlflow_client, registry
    from mlops_assets.tracking.server import TrackingServerError

    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="mlops-assets-score-"))
    try:
        with mlflow_client.connected(location, check_timeout) as connected:
            where = mlflow_client.describe(connected)
            if choice in (AUTO, CHAMPION):
                version = registry.by_alias(connected, model_name, registry.CHAMPION)
                if version is None:
                    if choice == AUTO:
                        why = f" ('{model_name}' has no champion in {where})"
                        return latest_model(artifacts, why)
                    raise ScoringError(
                        f"'{model_name}' has no champion in {where}: --model latest scores "
                        "with the last run's model, --model <version> with a registered one"
                    )
                role = f"the champion, v{version.version}"
            else:
                wanted = choice.removeprefix("v")
                known = registry.versions(connected, model_name)
                version = next((v for v in known if v.version == wanted), None)
                if version is None:
                    listed = ", ".join(f"v{v.version}" for v in known) or "none"
                    raise ScoringError(
                        f"--model {choice}: '{model_name}' has no version {wanted} in {where} "
                        f"(versions: {listed})"
                    )
                role = f"v{version.version}"
            path, labels = _registered_files(version, connected, artifacts, work_dir)
    except TrackingServerError as error:
        raise ScoringError(
            f"{error}; --model latest scores with the last run's model without MLflow"
        ) from None
    return ScoringModel(path, labels, f"{role} of '{model_name}' in {where}")
