"""What an asset's output depends on, hashed; and, when that changed, the change in words.

An asset's fingerprint covers its code version, its own parameters (in the ``data.*``/``train.*``
vocabulary of params.yaml) and its inputs: the upstream assets' fingerprints, or for the data the
file's hash. Same fingerprint, same output. When it differs from the last materialisation's,
``what_changed`` names the parts that moved, for the report's "why it retrained".
``project_inputs`` reads what those depend on from the project's files, for deciding before a
run (the pre-launch check, the git sensor).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_assets.data.dataset import DatasetError, file_md5
from mlops_assets.modeling.builder import ModelBuilderError, source_hash
from mlops_assets.params import PARAMS_FILE, Params, ParamsError, load_params

MODEL_SOURCE = "model_source"  # trained_model's input: the hash of its builder's source
# Inputs that are not upstream assets, named as a reader knows them.
INPUT_NAMES = {"data_hash": "data", MODEL_SOURCE: "model code"}
MAX_VALUE_CHARS = 40


@dataclass(frozen=True)
class ProjectInputs:
    """What a run reads from the project: params.yaml's values, the data file's MD5 and the
    hash of the model builder's source."""

    params: Params
    data_hash: str
    model_source: str


def project_inputs(project: Path) -> ProjectInputs | None:
    """The project's inputs as a run would read them now; None when they cannot be read (a bad
    params.yaml, a data file not on disk, a builder not found): the run then says so itself."""
    try:
        params = load_params(project / PARAMS_FILE)
        data_hash = file_md5(Path(project, params.data.path))
        model_source = source_hash(params.train.model, project)
    except (ParamsError, DatasetError, ModelBuilderError, OSError):
        return None
    return ProjectInputs(params, data_hash, model_source)


def parts(code_version: str | None, inputs: Mapping[str, Any], params: Mapping) -> dict:
    """The JSON-able record a fingerprint is the hash of; kept with each materialisation."""
    return {
        "code_version": code_version,
        "inputs": dict(sorted(inputs.items())),
        "params": json.loads(json.dumps(params, sort_keys=True, default=str)),
    }


def fingerprint(record: Mapping) -> str:
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _show(value: Any) -> str:
    text = "unset" if value is None else str(value)
    if len(text) >= 16 and all(c in "0123456789abcdef" for c in text):  # a hash: its start
        text = text[:12]
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _changed(before: Mapping, after: Mapping) -> list[str]:
    return [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]


def what_changed(before: Mapping, after: Mapping) -> list[str]:
    """One phrase per changed part of two ``parts`` records: the code, each named parameter
    with its old and new value, the data hash, an upstream asset."""
    changes = []
    if before.get("code_version") != after.get("code_version"):
        old, new = before.get("code_version"), after.get("code_version")
        changes.append(f"code (version {_show(old)} → {_show(new)})")
    old_inputs, new_inputs = before.get("inputs", {}), after.get("inputs", {})
    for name in _changed(old_inputs, new_inputs):
        if name in INPUT_NAMES:
            old, new = _show(old_inputs.get(name)), _show(new_inputs.get(name))
            changes.append(f"{INPUT_NAMES[name]} (`{old}` → `{new}`)")
        else:
            changes.append(f"upstream {name}")
    old_params, new_params = before.get("params", {}), after.get("params", {})
    for name in _changed(old_params, new_params):
        old, new = _show(old_params.get(name)), _show(new_params.get(name))
        changes.append(f"{name} (`{old}` → `{new}`)")
    return changes
