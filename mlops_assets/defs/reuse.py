"""Skip unchanged work: an asset whose inputs, parameters and code are those of its last
materialisation restores that materialisation's output instead of computing it again.

The decision uses Dagster's own records, kept in a persistent ``DAGSTER_HOME``: each
materialisation stores a fingerprint of its code version, its own parameters (run config) and its
upstream assets' fingerprints, and that fingerprint is also its data version, so the UI's
staleness and lineage agree with what was reused. The output itself comes back through the IO
manager that stored it. With an ephemeral instance (no ``DAGSTER_HOME``) nothing is ever reused.
"""

import hashlib
import json
import os
import pickle
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import AssetExecutionContext, BetaWarning, DataVersion, InputContext, Output

from mlops_assets import run_tags, settings
from mlops_assets.settings import truthy

FINGERPRINT = "fingerprint"
REUSED_FROM = "reused_from_run"


def fingerprint(code_version: str | None, inputs: Mapping[str, str | None], params: Mapping) -> str:
    """What determines an asset's output, hashed: same fingerprint, same output."""
    payload = {
        "code_version": code_version,
        "inputs": dict(sorted(inputs.items())),
        "params": params,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def forced(context: AssetExecutionContext) -> bool:
    """``MLOPS_ASSETS_FORCE=1`` for every run of the process, or the run's force tag."""
    return truthy(os.environ.get(settings.FORCE)) or truthy(context.run.tags.get(run_tags.FORCE))


def upstream_fingerprints(context: AssetExecutionContext) -> dict[str, str | None]:
    """Each upstream asset's fingerprint, from its latest materialisation (this run's, or the
    stored one it was loaded from); ``None`` where there is none, which never matches."""
    fingerprints: dict[str, str | None] = {}
    for key in context.assets_def.keys_by_input_name.values():
        event = context.instance.get_latest_materialization_event(key)
        entry = event.asset_materialization.metadata.get(FINGERPRINT) if event else None
        fingerprints[key.to_user_string()] = entry.value if entry else None
    return fingerprints


@dataclass(frozen=True)
class Reuse:
    """One asset's skip-unchanged decision: its fingerprint, and the stored output to restore
    when the last materialisation had the same fingerprint (``found``)."""

    fingerprint: str
    value: Any = None
    run_id: str | None = None  # the run that computed ``value``
    metadata: dict | None = None  # that materialisation's metadata, to show again

    @property
    def found(self) -> bool:
        return self.run_id is not None

    def _output(self, value: Any, data_version: str | None, metadata: dict) -> Output:
        with warnings.catch_warnings():  # data versions are beta, and what reuse is built on
            warnings.simplefilter("ignore", BetaWarning)
            version = DataVersion(data_version or self.fingerprint)
            return Output(value, data_version=version, metadata=metadata)

    def restore(
        self, value: Any = None, metadata: dict | None = None, data_version: str | None = None
    ) -> Output:
        """The stored value (or ``value`` made from it) as this run's output, with the
        original's metadata (updated by ``metadata``) and the run it came from."""
        return self._output(
            self.value if value is None else value,
            data_version,
            {**self.metadata, **(metadata or {}), **self._metadata(self.run_id)},
        )

    def output(self, value: Any, metadata: dict, data_version: str | None = None) -> Output:
        """A freshly computed ``value``, stamped with the fingerprint (the data version too,
        unless ``data_version`` names another)."""
        return self._output(value, data_version, {**self._metadata(None), **metadata})

    def _metadata(self, reused_from: str | None) -> dict:
        metadata = {FINGERPRINT: self.fingerprint, "reused": reused_from is not None}
        return {**metadata, REUSED_FROM: reused_from} if reused_from else metadata


def lookup(
    context: AssetExecutionContext,
    params: Mapping,
    inputs: Mapping[str, str | None] | None = None,
    still_valid: Callable[[Any], bool] = lambda value: True,
) -> Reuse:
    """This materialisation's fingerprint, with the last materialisation's output if it had the
    same fingerprint and its output can be loaded and passes ``still_valid`` (say, the model
    file it names still exists). ``inputs`` defaults to the upstream assets' fingerprints."""
    inputs = upstream_fingerprints(context) if inputs is None else inputs
    code_version = context.assets_def.code_versions_by_key.get(context.asset_key)
    fresh = Reuse(fingerprint(code_version, inputs, params))
    if None in inputs.values() or forced(context):
        return fresh
    event = context.instance.get_latest_materialization_event(context.asset_key)
    metadata = dict(event.asset_materialization.metadata) if event else {}
    if FINGERPRINT not in metadata or metadata[FINGERPRINT].value != fresh.fingerprint:
        return fresh
    try:
        value = context.resources.io_manager.load_input(
            # This run's instance and loggers (build_input_context would bring stock ones).
            InputContext(
                asset_key=context.asset_key, instance=context.instance, log_manager=context.log
            )
        )
    # The stored output is gone, or no longer unpickles into today's classes: compute it again.
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        context.log.warning(f"cannot restore {context.asset_key.to_user_string()}: {exc}")
        return fresh
    if not still_valid(value):
        return fresh
    origin = metadata.get(REUSED_FROM)
    run_id = origin.value if origin else event.run_id
    context.log.info(f"inputs, parameters and code unchanged: reusing the output of run {run_id}")
    return Reuse(fresh.fingerprint, value=value, run_id=run_id, metadata=metadata)
