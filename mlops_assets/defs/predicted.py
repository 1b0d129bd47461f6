"""The fingerprints the next run would give each asset, from the project's files as they are
now (params.yaml, the data file, the model's builder), computed the way the assets compute them
in ``reuse.lookup``. When they equal the last materialisation's, a run would reuse everything:
the git sensor skips such a commit (a comment or the ``automation`` section of params.yaml
edited, a file under a watched glob that no asset reads). ``test_sensor_skip.py`` checks that
they agree with what a real run records.
"""

from pathlib import Path

from dagster import AssetKey, DagsterInstance

from mlops_assets.defs.assets import RETRAIN_ASSETS
from mlops_assets.defs.config import DataConfig, GateConfig, SplitConfig, TrainConfig
from mlops_assets.defs.reuse import fingerprint_of
from mlops_assets.fingerprints import MODEL_SOURCE, fingerprint, parts, project_inputs
from mlops_assets.params import flat

PREDICTED = ("raw_data", "features", "trained_model", "metrics_report")


def _code_versions() -> dict[str, str | None]:
    return {
        key.to_user_string(): version
        for asset in RETRAIN_ASSETS
        for key, version in asset.code_versions_by_key.items()
    }


def predicted_fingerprints(project: Path) -> dict[str, str] | None:
    """Each asset of ``PREDICTED`` and its fingerprint for a run now on ``project``; None when
    they cannot be known (a bad params.yaml, a data file not on disk, a builder not found):
    then the run has to say so itself."""
    inputs = project_inputs(project)
    if inputs is None:
        return None
    params, versions = inputs.params, _code_versions()

    def of(asset: str, upstream: dict, section: str, config_class, values) -> str:
        config = config_class(**values.model_dump(include=set(config_class.model_fields)))
        return fingerprint(parts(versions[asset], upstream, flat(section, config.model_dump())))

    raw = of("raw_data", {"data_hash": inputs.data_hash}, "data", DataConfig, params.data)
    split = of("features", {"raw_data": raw}, "data", SplitConfig, params.data)
    model_inputs = {"features": split, MODEL_SOURCE: inputs.model_source}
    model = of("trained_model", model_inputs, "train", TrainConfig, params.train)
    report_inputs = {"features": split, "trained_model": model}
    report = of("metrics_report", report_inputs, "gate", GateConfig, params.gate)
    return dict(zip(PREDICTED, (raw, split, model, report), strict=True))


def recorded_fingerprints(instance: DagsterInstance) -> tuple[dict[str, str | None], str | None]:
    """The fingerprint of each asset's latest materialisation, and the run that materialised
    ``metrics_report`` last."""
    recorded, run_id = {}, None
    for name in PREDICTED:
        event = instance.get_latest_materialization_event(AssetKey(name))
        recorded[name] = fingerprint_of(event)
        run_id = event.run_id if event else None
    return recorded, run_id
