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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import AssetExecutionContext, DataVersion, Output, build_input_context

FINGERPRINT = "fingerprint"
REUSED_FROM = "reused_from_run"
FORCE_ENV = "MLOPS_ASSETS_FORCE"  # "1": recompute everything
FORCE_TAG = "mlops_assets/force"  # the same per run, from the launchpad or a sensor


def fingerprint(code_version: str | None, inputs: Mapping[str, str | None], params: Mapping) -> str:
    """What determines an asset's output, hashed: same fingerprint, same output."""
    payload = {
        "code_version": code_version,
        "inputs": dict(sorted(inputs.items())),
        "params": params,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes"}


def forced(context: AssetExecutionContext) -> bool:
    return _truthy(os.environ.get(FORCE_ENV)) or _truthy(context.run.tags.get(FORCE_TAG))


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
class Reused:
    value: Any
    run_id: str  # the run that computed the value
    metadata: dict  # that materialisation's metadata, to show again


def lookup(
    context: AssetExecutionContext,
    params: Mapping,
    inputs: Mapping[str, str | None] | None = None,
    still_valid: Callable[[Any], bool] = lambda value: True,
) -> tuple[str, Reused | None]:
    """This materialisation's fingerprint, and the last materialisation's output if it had the
    same fingerprint and its output can be loaded and passes ``still_valid`` (say, the model
    file it names still exists). ``inputs`` defaults to the upstream assets' fingerprints."""
    inputs = upstream_fingerprints(context) if inputs is None else inputs
    code_version = context.assets_def.code_versions_by_key.get(context.asset_key)
    print_ = fingerprint(code_version, inputs, params)
    if None in inputs.values() or forced(context):
        return print_, None
    event = context.instance.get_latest_materialization_event(context.asset_key)
    metadata = dict(event.asset_materialization.metadata) if event else {}
    if FINGERPRINT not in metadata or metadata[FINGERPRINT].value != print_:
        return print_, None
    try:
        value = context.resources.io_manager.load_input(
            # This run's instance: without one Dagster builds an ephemeral instance per call.
            build_input_context(asset_key=context.asset_key, instance=context.instance)
        )
    # The stored output is gone, or no longer unpickles into today's classes: compute it again.
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        context.log.warning(f"cannot restore {context.asset_key.to_user_string()}: {exc}")
        return print_, None
    if not still_valid(value):
        return print_, None
    origin = metadata.get(REUSED_FROM)
    run_id = origin.value if origin else event.run_id
    context.log.info(f"inputs, parameters and code unchanged: reusing the output of run {run_id}")
    return print_, Reused(value=value, run_id=run_id, metadata=metadata)


def reuse_metadata(print_: str, reused_from: str | None = None) -> dict:
    """The fingerprint and, when the output was reused, the run that computed it."""
    metadata = {FINGERPRINT: print_, "reused": reused_from is not None}
    return {**metadata, REUSED_FROM: reused_from} if reused_from else metadata


def restored_output(
    print_: str, reused: Reused, value: Any = None, metadata: dict | None = None
) -> Output:
    """The reused value (or ``value`` made from it) as this run's output, with the original's
    metadata (updated by ``metadata``) and the run it came from."""
    return Output(
        reused.value if value is None else value,
        data_version=DataVersion(print_),
        metadata={**reused.metadata, **(metadata or {}), **reuse_metadata(print_, reused.run_id)},
    )


def with_reuse_note(markdown: str, run_id: str, what: str) -> str:
    """``markdown`` with a line under its title saying ``what`` comes from run ``run_id``."""
    note = (
        f"> ♻️ {what} from run `{run_id}`: data, parameters and code are unchanged, "
        "so it was not computed again."
    )
    if note in markdown:
        return markdown
    title, newline, rest = markdown.partition("\n")
    if not title.startswith("# "):
        return f"{note}\n\n{markdown}"
    return f"{title}\n\n{note}{newline}{rest}"
