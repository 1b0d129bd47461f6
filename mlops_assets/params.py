"""params.yaml, validated, as the defaults of the pipeline's Dagster ``Config`` classes.

DVC reads the same file as ``params``; Dagster run config can override any key. A malformed file
fails loudly at load time with the file and the key at fault, before any work is done.
"""

from pathlib import Path
from typing import Any, Literal

import yaml
from dagster import Config
from pydantic import Field, ValidationError, field_validator

from mlops_assets.project import project_dir

PARAMS_FILE = "params.yaml"

Task = Literal["regression", "binary_classification"]

BUILTIN_PARAMS: dict[str, dict[str, Any]] = {
    "data": {
        "path": "data/diabetes.csv",
        "target": "target",
        "task": "regression",
        "test_fraction": 0.2,
        "seed": 42,
    },
    "gate": {"tolerance": 0.05},
    "train": {
        "epochs": 300,
        "batch_size": 32,
        "learning_rate": 0.005,
        "hidden_layers": [32],
        "validation_fraction": 0.2,
        "early_stopping_patience": 30,
    },
    # Read by mlops_assets.automation (the sensor and the schedule); environment overrides.
    "automation": {
        "retrain_cron": "0 3 * * 1",
        "watch_paths": [
            "data/*",
            "params.yaml",
            "mlops_assets/*",
            "pyproject.toml",
            "dvc.yaml",
            "dvc.lock",
            "*.dvc",
        ],
    },
}


class ParamsError(ValueError):
    """params.yaml (or run config) is malformed; the message names the file and key."""


def read_params(path: Path) -> dict[str, dict[str, Any]]:
    """The built-in defaults overlaid with ``path``; unknown sections or keys are errors."""
    params = {section: dict(values) for section, values in BUILTIN_PARAMS.items()}
    if not path.exists():
        return params
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if loaded is None:
        return params
    if not isinstance(loaded, dict):
        raise ParamsError(f"{path}: expected a mapping with sections {sorted(params)}")
    for section, values in loaded.items():
        if section not in params:
            raise ParamsError(f"{path}: unknown section '{section}' (known: {sorted(params)})")
        if not isinstance(values, dict):
            raise ParamsError(f"{path}: section '{section}' must be a mapping")
        for key, value in values.items():
            if key not in params[section]:
                known = ", ".join(sorted(params[section]))
                raise ParamsError(f"{path}: unknown key '{section}.{key}' (known: {known})")
            params[section][key] = value
    return params


_PARAMS_PATH = project_dir() / PARAMS_FILE
_DEFAULTS = read_params(_PARAMS_PATH)


class DataConfig(Config):
    """Which CSV to learn from and what to predict (``data:`` in params.yaml)."""

    path: str = Field(default=_DEFAULTS["data"]["path"], description="CSV, relative to the project")
    target: str = Field(default=_DEFAULTS["data"]["target"], description="Column to predict")
    task: Task = Field(default=_DEFAULTS["data"]["task"])


class SplitConfig(Config):
    """How the held-out split is drawn (``data.test_fraction`` and ``data.seed``)."""

    test_fraction: float = Field(default=_DEFAULTS["data"]["test_fraction"], gt=0, lt=1)
    seed: int = Field(default=_DEFAULTS["data"]["seed"], ge=0)


class TrainConfig(Config):
    """Hyperparameters of the Keras model (``train:`` in params.yaml)."""

    epochs: int = Field(default=_DEFAULTS["train"]["epochs"], ge=1)
    batch_size: int = Field(default=_DEFAULTS["train"]["batch_size"], ge=1)
    learning_rate: float = Field(default=_DEFAULTS["train"]["learning_rate"], gt=0)
    hidden_layers: list[int] = Field(default=_DEFAULTS["train"]["hidden_layers"])
    validation_fraction: float = Field(
        default=_DEFAULTS["train"]["validation_fraction"], ge=0, lt=1
    )
    early_stopping_patience: int = Field(
        default=_DEFAULTS["train"]["early_stopping_patience"], ge=0
    )

    @field_validator("hidden_layers")
    @classmethod
    def _positive_units(cls, units: list[int]) -> list[int]:
        if any(u < 1 for u in units):
            raise ValueError("every hidden layer needs at least 1 unit")
        return units


class GateConfig(Config):
    """The model quality gate (``gate:`` in params.yaml): how much worse than the baseline run
    the headline metric may be, relative (0.05 = 5%), before the model is refused."""

    tolerance: float = Field(default=_DEFAULTS["gate"]["tolerance"], ge=0, lt=1)


def validate_params(params: dict[str, dict[str, Any]], source: Path) -> None:
    """Raise ``ParamsError`` naming ``source`` and the key when a value has the wrong type or range."""
    for section, config_class in (
        ("data", DataConfig),
        ("data", SplitConfig),
        ("train", TrainConfig),
        ("gate", GateConfig),
    ):
        values = {k: v for k, v in params[section].items() if k in config_class.model_fields}
        try:
            config_class(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{section}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()
            )
            raise ParamsError(f"{source}: {problems}") from None


validate_params(_DEFAULTS, _PARAMS_PATH)
