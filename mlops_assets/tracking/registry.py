"""The MLflow Model Registry: versions of one registered model, the ``champion`` alias, and the
ledger of its moves.

An alias is a bare pointer with no history, so every move is also written as a tag on the
version it moved to (``promotion.<n>``, JSON); the tags of all versions give the whole history
back, however many moves there were, and nothing is overwritten. Only calls that MLflow 2.3+
servers answer are used (DagsHub runs the 2.x line): registered models, model versions, their
tags and aliases. Call these inside ``mlflow_client.connected``.
"""

import json
from dataclasses import asdict
from pathlib import Path

from mlops_assets.artifacts.layout import MODEL_FILE
from mlops_assets.records import Baseline, Interval, ModelVersion, Promotion
from mlops_assets.report.metrics import held_out, held_out_name
from mlops_assets.tracking.location import TrackingLocation

CHAMPION = "champion"
PROMOTION_TAG = "promotion."  # + the move's number, zero-padded: sorted as text, read in order
METRIC_TAG = "metric."


class RegistryError(Exception):
    """The registry cannot do what was asked; the message says what to fix."""


def _client(location: TrackingLocation):
    from mlflow import MlflowClient

    return MlflowClient(location.uri, registry_uri=location.uri)


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")


def _tags(record: ModelVersion) -> dict[str, str]:
    tags = {
        "git_commit": record.commit,
        "git_branch": record.branch,
        "pr_number": record.pr_number,
        "data_hash": record.data_hash,
        "dagster_run_id": record.dagster_run_id,
        "report_run_id": record.report_run_id,
        "headline": record.headline,
        **{f"{METRIC_TAG}{name}": repr(float(v)) for name, v in record.metrics.items()},
    }
    if record.interval is not None:
        tags["interval.low"] = repr(record.interval.low)
        tags["interval.high"] = repr(record.interval.high)
    return {k: v for k, v in tags.items() if v}


def _record(version) -> ModelVersion:
    """An MLflow ``ModelVersion`` as this project's record."""
    tags = version.tags or {}
    interval = None
    if "interval.low" in tags and "interval.high" in tags:
        interval = Interval(float(tags["interval.low"]), float(tags["interval.high"]))
    return ModelVersion(
        name=version.name,
        version=str(version.version),
        run_id=version.run_id or "",
        report_run_id=tags.get("report_run_id", ""),
        dagster_run_id=tags.get("dagster_run_id", ""),
        commit=tags.get("git_commit", ""),
        branch=tags.get("git_branch", ""),
        pr_number=tags.get("pr_number", ""),
        data_hash=tags.get("data_hash", ""),
        headline=held_out_name(tags.get("headline", "")),
        metrics=held_out(
            {
                k.removeprefix(METRIC_TAG): float(v)
                for k, v in tags.items()
                if k.startswith(METRIC_TAG)
            }
        ),
        interval=interval,
    )


def _not_found(error) -> bool:
    """A missing model, version, alias or run (2.x servers call a missing alias an invalid
    parameter)."""
    code = getattr(error, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or (
        code == "INVALID_PARAMETER_VALUE" and "not found" in str(error).lower()
    )


def versions(location: TrackingLocation, name: str) -> list[ModelVersion]:
    """Every version of ``name``, oldest first (none when it is not registered yet)."""
    found = _client(location).search_model_versions(f"name = '{_quoted(name)}'")
    return sorted((_record(v) for v in found), key=lambda v: int(v.version))


def by_alias(location: TrackingLocation, name: str, alias: str = CHAMPION) -> ModelVersion | None:
    """The version ``alias`` points at; None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return _record(_client(location).get_model_version_by_alias(name, alias))
    except MlflowException as error:
        if _not_found(error):
            return None
        raise


def register(
    location: TrackingLocation, record: ModelVersion, model_uri: str, description: str = ""
) -> ModelVersion:
    """``model_uri`` as a new version of ``record.name``, tagged from ``record``, with
    ``description`` (the model card) as the text MLflow's UI and DagsHub show on its page; the
    version already registered for the same model and report when there is one (a rerun, or a
    pull request's model reused on merge), so a model is registered once (its description
    brought up to date)."""
    from mlflow.exceptions import MlflowException

    client = _client(location)
    for existing in client.search_model_versions(
        f"name = '{_quoted(record.name)}' and run_id = '{_quoted(record.run_id)}'"
    ):
        if (existing.tags or {}).get("report_run_id") == record.report_run_id:
            if description and (existing.description or "") != description:
                client.update_model_version(record.name, existing.version, description)
            return _record(existing)
    try:
        client.create_registered_model(record.name)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else None
    source = model_uri
    if model_uri.startswith("runs:/"):  # the 2.x line: a model directory among run artifacts
        run_id, _, path = model_uri.removeprefix("runs:/").partition("/")
        source = f"{client.get_run(run_id).info.artifact_uri}/{path}"
    created = client.create_model_version(
        record.name,
        source,
        run_id=record.run_id,
        tags=_tags(record),
        description=description or None,
        model_id=model_id,
    )
    return _record(client.get_model_version(record.name, created.version))


def set_alias(location: TrackingLocation, name: str, alias: str, version: str) -> None:
    _client(location).set_registered_model_alias(name, alias, version)


def record_promotion(location: TrackingLocation, name: str, move: Promotion) -> None:
    """Keep ``move`` as a tag on the version it moved ``champion`` to."""
    value = json.dumps(asdict(move), sort_keys=True)
    _client(location).set_model_version_tag(
        name, move.version, f"{PROMOTION_TAG}{move.seq:06d}", value
    )


def _promotion(fields: dict) -> Promotion:
    """A move as recorded; the deltas of a move recorded before ``test_mae`` was the name of
    ``mae`` under today's names."""
    return Promotion(**{**fields, "deltas": held_out(fields.get("deltas") or {})})


def ledger(location: TrackingLocation, name: str) -> list[Promotion]:
    """Every move of ``champion``, oldest first, read back from the versions' tags."""
    found = _client(location).search_model_versions(f"name = '{_quoted(name)}'")
    moves = [
        _promotion(json.loads(value))
        for version in found
        for key, value in (version.tags or {}).items()
        if key.startswith(PROMOTION_TAG)
    ]
    return sorted(moves, key=lambda move: move.seq)


def champion_baseline(location: TrackingLocation, name: str, where: str) -> Baseline | None:
    """The champion as the gate's baseline: its report run's metrics and parameters. None when
    there is no champion, or its report run is gone."""
    from mlflow.exceptions import MlflowException

    champion = by_alias(location, name)
    if champion is None or not champion.report_run_id:
        return None
    client = _client(location)
    try:
        run = client.get_run(champion.report_run_id)
    except MlflowException as error:
        if _not_found(error):
            return None
        raise
    return Baseline(
        run_id=champion.report_run_id,
        metrics=champion.metrics,
        params=dict(run.data.params),
        data_hash=champion.data_hash or None,
        commit=champion.commit or None,
        url=location.run_url(run.info.experiment_id, run.info.run_id),
        source=f"the champion, version {champion.version} of '{name}' in {where}",
    )


def download_model(location: TrackingLocation, name: str, version: str, to_dir: Path) -> Path:
    """Version ``version``'s ``model.keras``, downloaded from the registry into ``to_dir``."""
    from mlflow.artifacts import download_artifacts

    downloaded = Path(
        download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(to_dir))
    )
    found = sorted(downloaded.rglob(MODEL_FILE))
    if not found:
        raise RegistryError(f"version {version} of '{name}' in the registry has no {MODEL_FILE}")
    return found[0]
