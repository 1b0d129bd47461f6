"""params.yaml, validated: the one source of the pipeline's parameters and their defaults.

DVC reads the same file as ``params`` (dvc.yaml), so every key lives there and a missing key is
an error, as it is for DVC. The models below give each key its type and range; the Dagster
``Config`` classes (``defs/config.py``) take their defaults from the file, and run config can
override any key. Every error names the file and the key at fault.
"""

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

PARAMS_FILE = "params.yaml"

# numpy takes seeds below 2**32, and gate.seeds trains with data.seed + 1 ... data.seed + 19 too.
MAX_SEED = 2**32 - 20

Task = Literal["regression", "binary_classification", "multiclass_classification"]


class ParamsError(ValueError):
    """params.yaml (or run config) is malformed; the message names the file and key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsParams(_Section):
    """Column kinds the data cannot tell: each list names columns; the rest are inferred
    (numbers numeric, anything else categorical; see ``data.columns``)."""

    categorical: list[str] = Field(description="Columns to treat as categories (integer codes)")
    numeric: list[str] = Field(description="Columns to treat as numbers")
    drop: list[str] = Field(description="Columns to ignore (IDs, free text, leaks)")

    @model_validator(mode="after")
    def _disjoint(self):
        named: dict[str, str] = {}
        for kind in ("categorical", "numeric", "drop"):
            for column in getattr(self, kind):
                if column in named:
                    raise ValueError(f"column '{column}' is in both {named[column]} and {kind}")
                named[column] = kind
        return self


class DataParams(_Section):
    """Which CSV to learn from, what to predict, and how the held-out split is drawn."""

    path: str = Field(description="CSV, relative to the project directory")
    target: str = Field(description="Column to predict")
    task: Task = Field(description="regression, binary_classification or multiclass_classification")
    positive_class: str | None = Field(
        description="binary_classification: the label that is the positive class; null: the "
        "last of the two in sorted order (1 of 0/1, Yes of No/Yes, True of False/True)"
    )
    columns: ColumnsParams
    na_values: list[str] = Field(
        description="Markers of a missing value besides empty cells and NA, e.g. ['?']"
    )
    max_missing_fraction: float = Field(
        ge=0, le=1, description="A feature missing in more than this share of rows fails a check"
    )
    test_fraction: float = Field(gt=0, lt=1, description="Held-out share of the rows")
    seed: int = Field(ge=0, le=MAX_SEED, description="Seed of the split and of training")

    @field_validator("positive_class", mode="before")
    @classmethod
    def _label_as_text(cls, value: object) -> object:
        return value if value is None or isinstance(value, str) else str(value)

    @field_validator("na_values", mode="before")
    @classmethod
    def _markers_as_text(cls, values: object) -> object:
        return [str(v) for v in values] if isinstance(values, list) else values


class TrainParams(_Section):
    """Hyperparameters of the Keras model."""

    epochs: int = Field(ge=1, description="At most this many epochs")
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0, allow_inf_nan=False)
    hidden_layers: list[int] = Field(description="Units of each hidden layer (built-in MLP)")
    model: str | None = Field(
        description="'module:function' building your own Keras model (modeling.builder); "
        "null: the built-in MLP"
    )
    model_args: dict[str, Any] = Field(description="Handed to the builder as spec.args")
    validation_fraction: float = Field(
        ge=0, lt=1, description="Share of the training split held out for the learning curve"
    )
    early_stopping_patience: int = Field(
        ge=0, description="Epochs without val_loss improvement before stopping; 0: never"
    )

    @field_validator("model")
    @classmethod
    def _module_function(cls, reference: str | None) -> str | None:
        if reference in (None, ""):
            return None
        module, colon, function = reference.partition(":")
        if not (module and colon and function):
            raise ValueError(f"expected 'module:function', got {reference!r}")
        return reference

    @field_validator("hidden_layers")
    @classmethod
    def _positive_units(cls, units: list[int]) -> list[int]:
        if any(u < 1 for u in units):
            raise ValueError("every hidden layer needs at least 1 unit")
        return units


class GateParams(_Section):
    """The model quality gate: how much worse than the baseline run the headline metric may be,
    relative (0.05 = 5%), before the model is refused."""

    tolerance: float = Field(ge=0, lt=1)
    seeds: int = Field(ge=1, le=20, description="Models trained with seeds data.seed, +1, ...")


class AutomationParams(_Section):
    """The sensor's watched paths and the schedule's cron (environment variables override)."""

    retrain_cron: str = Field(description="Cron string of the periodic retrain")
    watch_paths: list[str] = Field(description="Globs of the paths whose change retrains")


class ModelCardParams(_Section):
    """What the model card (``report.model_card``) says that the data and the run cannot: what
    the model is for and where it must not be trusted. Optional: a card without them says so."""

    intended_use: str = Field(default="", description="Who uses the model, for what decisions")
    limitations: str = Field(default="", description="Where its predictions must not be trusted")


class SweepParams(_Section):
    """``sweep:`` (optional): ``train.*`` values tried in one run; ``sweeps.plan_trials`` checks
    the names and values (docs/sweeps.md)."""

    grid: dict[str, list[Any]] = Field(default_factory=dict)
    random: dict[str, Any] | None = None  # {n, seed, <name>: {low, high, log}}
    parallel: int | None = Field(default=None, ge=1, description="Trials at once; null: cores")
    metric: str | None = Field(default=None, description="null: the task's headline")


class Params(_Section):
    data: DataParams
    gate: GateParams
    train: TrainParams
    automation: AutomationParams
    model_card: ModelCardParams = Field(default_factory=ModelCardParams)  # optional section
    sweep: SweepParams | None = None  # no sweep: one model, as always


def _problem(error: dict, sections: list[str]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        if len(error["loc"]) == 1:
            return f"unknown section '{where}' (known: {sections})"
        section = Params
        for part in error["loc"][:-1]:
            annotation = section.model_fields[str(part)].annotation
            section = getattr(annotation, "__args__", (annotation,))[0]  # SweepParams | None
        known = ", ".join(sorted(section.model_fields))
        return f"unknown key '{where}' (known: {known})"
    if error["type"] == "missing":
        return f"missing {'section' if len(error['loc']) == 1 else 'key'} '{where}'"
    if error["type"] == "model_type" and len(error["loc"]) == 1:
        return f"section '{where}' must be a mapping"
    return f"{where}: {error['msg']}"


def load_params(path: Path) -> Params:
    """``path`` parsed and validated; ``ParamsError`` names the file and every key at fault."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found (the pipeline's parameters live there)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    sections = sorted(Params.model_fields)
    if not isinstance(loaded, dict):
        raise ParamsError(f"{path}: expected a mapping with sections {sections}")
    try:
        return Params.model_validate(loaded)
    except ValidationError as exc:
        problems = "; ".join(_problem(error, sections) for error in exc.errors())
        raise ParamsError(f"{path}: {problems}") from None


def flat(section: str, values: dict) -> dict[str, str]:
    """``values`` under their params.yaml names, ``section.key``, as strings: the one vocabulary
    of MLflow's params, ``dvc params diff``, the report and the baseline comparison. Mappings
    nest (``data.columns.drop``, ``train.model_args.units``)."""
    names: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            names.update(flat(f"{section}.{key}", value))
        elif not isinstance(value, dict):
            names[f"{section}.{key}"] = str(value)
    return names
