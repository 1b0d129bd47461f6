"""Skip unchanged work: an asset whose inputs, parameters and code are those of its last
materialisation restores that materialisation's output instead of computing it again.

The decision uses Dagster's own records, kept in a persistent ``DAGSTER_HOME``: each
materialisation stores a fingerprint of its code version, its own parameters (run config) and its
upstream assets' fingerprints, and that fingerprint is also its data version, so the UI's
staleness and lineage agree with what was reused. The output itself comes back through the IO
manager that stored it. With an ephemeral instance (no ``DAGSTER_HOME``) nothing is ever reused.
"""

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dagster import (
    AssetExecutionContext,
    BetaWarning,
    DataVersion,
    MetadataValue,
    Output,
)

from mlops_assets import run_tags, settings
from mlops_assets.artifacts.outputs import StoredOutputError
from mlops_assets.fingerprints import fingerprint, parts, what_changed
from mlops_assets.records import AssetDecision
from mlops_assets.settings import truthy

FINGERPRINT = "fingerprint"
FINGERPRINT_PARTS = "fingerprint_parts"  # what the fingerprint hashes, to say what changed
REUSED_FROM = "reused_from_run"
WHY = "why"  # why this materialisation was recomputed or reused, in words


def forced(context: AssetExecutionContext) -> bool:
    """``MLOPS_ASSETS_FORCE=1`` for every run of the process, or the run's force tag."""
    return settings.forced() or truthy(context.run.tags.get(run_tags.FORCE))


def upstream_fingerprints(context: AssetExecutionContext) -> dict[str, str | None]:
    """Each upstream asset's fingerprint, from its latest materialisation (this run's, or the
    stored one it was loaded from); ``None`` where there is none, which never matches."""
    return {
        key.to_user_string(): fingerprint_of(context.instance.get_latest_materialization_event(key))
        for key in context.assets_def.keys_by_input_name.values()
    }


def fingerprint_of(event) -> str | None:
    """The fingerprint a materialisation event recorded; None without the event or one."""
    entry = event.asset_materialization.metadata.get(FINGERPRINT) if event else None
    return entry.value if entry else None


@dataclass(frozen=True)
class Reuse:
    """One asset's skip-unchanged decision: its fingerprint, and the stored output to restore
    when the last materialisation had the same fingerprint (``found``)."""

    fingerprint: str
    parts: dict = field(default_factory=dict)  # what ``fingerprint`` hashes
    why: str = ""  # the decision in words, for the report
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
        metadata = {
            FINGERPRINT: self.fingerprint,
            FINGERPRINT_PARTS: MetadataValue.json(self.parts),
            "reused": reused_from is not None,
            WHY: self.why,
        }
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
    record = parts(code_version, inputs, params)
    fresh = Reuse(fingerprint(record), parts=record)
    if forced(context):
        return replace(fresh, why="forced (--force or MLOPS_ASSETS_FORCE)")
    unknown = [name for name, value in inputs.items() if value is None]
    if unknown:
        return replace(fresh, why=f"no fingerprint yet for {', '.join(unknown)}")
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None:
        return replace(fresh, why="first materialisation")
    metadata = dict(event.asset_materialization.metadata)
    if FINGERPRINT not in metadata:
        return replace(fresh, why="the last materialisation recorded no fingerprint")
    if metadata[FINGERPRINT].value != fresh.fingerprint:
        before = metadata.get(FINGERPRINT_PARTS)
        changes = what_changed(before.value, record) if before else []
        return replace(
            fresh, why="changed: " + "; ".join(changes or ["inputs, parameters or code"])
        )
    try:
        value = context.resources.io_manager.load_materialized(context.asset_key, event.run_id)
    except StoredOutputError as exc:  # gone, truncated, or not today's classes: compute again
        context.log.warning(f"cannot restore {context.asset_key.to_user_string()}: {exc}")
        return replace(fresh, why=f"unchanged, but the stored output could not be read ({exc})")
    if not still_valid(value):
        return replace(fresh, why="unchanged, but the files its stored output names are gone")
    origin = metadata.get(REUSED_FROM)
    run_id = origin.value if origin else event.run_id
    context.log.info(f"inputs, parameters and code unchanged: reusing the output of run {run_id}")
    why = f"inputs, parameters and code unchanged since run {run_id[:8]}"
    return replace(fresh, why=why, value=value, run_id=run_id, metadata=metadata)


def decisions_in_run(context: AssetExecutionContext, reuse: Reuse) -> list[AssetDecision]:
    """What this run did with the running asset (``reuse``) and each asset upstream of it:
    recomputed or reused, and why; or left out of the run."""
    graph = context.job_def.asset_layer.asset_graph
    upstream = graph.get_ancestor_asset_keys(context.asset_key)
    decisions = []
    for key in [k for k in graph.toposorted_asset_keys if k in upstream]:
        event = context.instance.get_latest_materialization_event(key)
        if event is None or event.run_id != context.run_id:
            decisions.append(AssetDecision(key.to_user_string(), "not in this run"))
            continue
        metadata = event.asset_materialization.metadata
        action = "reused" if REUSED_FROM in metadata else "recomputed"
        why = metadata[WHY].value if WHY in metadata else ""
        decisions.append(AssetDecision(key.to_user_string(), action, why))
    own = "reused" if reuse.found else "recomputed"
    return [*decisions, AssetDecision(context.asset_key.to_user_string(), own, reuse.why)]
