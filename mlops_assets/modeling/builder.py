"""Your own model: ``train.model: "module:function"`` names a builder, resolved from the project
directory first, then installed packages; ``train.model_args`` reaches it as ``spec.args``.

A builder is either ``build(spec: ModelSpec) -> keras.Model`` or ``build() -> keras.Model``.
The model it returns maps the preprocessed features (``spec.inputs``, width
``spec.input_width``) to ``spec.output_units`` values, compiled or not. The pipeline puts the
preprocessing in front, and after it: for regression a rescaling to the target's units (the
builder predicts the standardised target); for classification, when the model is not compiled
and its last layer is linear, ``spec.output_activation`` (its outputs taken as logits). An
uncompiled model is compiled with the task's loss and ``train.learning_rate``. Everything else
(split, seed, early stopping, tracking, report, gate) stays the pipeline's.

Every failure is a ``ModelBuilderError`` naming ``train.model``, raised before training.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILT_IN = "mlops_assets.modeling.mlp:build"


class ModelBuilderError(ValueError):
    """``train.model`` cannot give a usable model; the message names it and why."""


@dataclass(frozen=True)
class ModelSpec:
    """What a builder is told.

    - ``inputs``: a ``keras.Input`` of shape ``(input_width,)``, the preprocessed features
      (normalised numbers, one-hot categories, missing indicators);
    - ``task``: ``regression``, ``binary_classification`` or ``multiclass_classification``;
    - ``output_units``: 1, or the number of classes; ``output_activation``: ``linear``,
      ``sigmoid`` or ``softmax``, what the last layer should use;
    - ``args``: ``train.model_args``; ``seed``: ``data.seed`` (Keras is already seeded).
    """

    inputs: Any
    input_width: int
    task: str
    output_units: int
    output_activation: str
    args: dict = field(default_factory=dict)
    seed: int = 0


def _where(reference: str) -> tuple[str, str]:
    module, _, function = reference.partition(":")
    return module, function


def _on_path(project: Path) -> None:
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    importlib.invalidate_caches()


def source_file(reference: str | None, project: Path) -> Path:
    """The file holding the builder's module (found without importing it)."""
    module, _ = _where(reference or BUILT_IN)
    _on_path(project)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise ModelBuilderError(f"train.model {reference!r}: {exc}") from None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise ModelBuilderError(
            f"train.model {reference!r}: no module '{module}' in the project directory "
            f"{project} or the installed packages"
        )
    return Path(spec.origin)


def source_hash(reference: str | None, project: Path) -> str:
    """SHA-256 of the builder module's source: part of ``trained_model``'s fingerprint, so
    editing the model code retrains and editing nothing reuses."""
    return hashlib.sha256(source_file(reference, project).read_bytes()).hexdigest()[:16]


def resolve(reference: str | None, project: Path):
    """The builder function ``reference`` names (the built-in MLP's without one), imported
    afresh so that an edited file is the one used."""
    name = reference or BUILT_IN
    module_name, function = _where(name)
    source_file(reference, project)
    try:
        if module_name in sys.modules and reference:
            module = importlib.reload(sys.modules[module_name])
        else:
            module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module failed to import: say so, with its error
        raise ModelBuilderError(
            f"train.model {name!r}: importing '{module_name}' failed: {type(exc).__name__}: {exc}"
        ) from exc
    builder = getattr(module, function, None)
    if builder is None:
        raise ModelBuilderError(
            f"train.model {name!r}: module '{module_name}' ({module.__file__}) has no '{function}'"
        )
    if not callable(builder):
        raise ModelBuilderError(f"train.model {name!r}: '{function}' is not a function")
    return builder


def call_builder(builder, spec: ModelSpec, reference: str):
    """The builder's model, called with the spec unless it takes no arguments."""
    import keras

    try:
        required = [
            p
            for p in inspect.signature(builder).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        takes_spec = bool(required) or bool(inspect.signature(builder).parameters)
    except (TypeError, ValueError):
        takes_spec = True
    try:
        model = builder(spec) if takes_spec else builder()
    except Exception as exc:
        raise ModelBuilderError(
            f"train.model {reference!r}: the builder raised {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(model, keras.Model):
        raise ModelBuilderError(
            f"train.model {reference!r}: the builder returned {type(model).__name__}, "
            "not a Keras model"
        )
    return model
