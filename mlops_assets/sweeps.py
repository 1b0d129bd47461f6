"""Sweeps: a few values of some ``train.*`` parameters tried in one run, the winner chosen on
the validation rows (docs/sweeps.md).

``sweep:`` in params.yaml, or ``mlops-assets run --sweep 'train.learning_rate=0.002,0.005'``,
declares one. Everything is checked here, before anything runs: unknown names, empty lists,
values each parameter's own validation refuses, more than ``MAX_TRIALS`` trials; every error
names the key (``ParamsError``). Pure: no Dagster, TensorFlow or MLflow.
"""

import itertools
import json
import math
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlops_assets.params import ParamsError, SweepParams, TrainParams
from mlops_assets.report.metrics import (
    HEADLINE,
    TASK_METRICS,
    TEST,
    TRAIN,
    base_name,
    higher_is_better,
)

MAX_TRIALS = 64
SECTION = "train"  # the one section a sweep may vary: the split and the gate stay fixed
# Every trial is scored on the same validation rows, so the share that makes them stays fixed.
FIXED = frozenset({"validation_fraction"})
SEED_MODULUS = 2**32  # numpy's seeds


class RandomRange(BaseModel):
    """A number drawn uniformly between ``low`` and ``high`` (in log space with ``log``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        if self.log and self.low <= 0:
            raise ValueError("log needs low > 0")
        return self


@dataclass(frozen=True)
class Trial:
    """One combination of values: ``index`` numbers it (and seeds it: data.seed + index)."""

    index: int
    values: dict[str, Any]  # dotted name -> value, e.g. {"train.learning_rate": 0.005}

    def hyperparameters(self, base: TrainParams) -> TrainParams:
        changed = {name.removeprefix(f"{SECTION}."): v for name, v in self.values.items()}
        return TrainParams(**{**base.model_dump(), **changed})

    def seed(self, data_seed: int) -> int:
        return (data_seed + self.index) % SEED_MODULUS

    @property
    def label(self) -> str:
        return ", ".join(f"{name}={_show(v)}" for name, v in self.values.items())


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep: the trials, how many at once, and the validation metric that chooses."""

    trials: list[Trial]
    parallel: int
    metric: str
    grid: dict[str, list[Any]]  # what MLflow's parent run keeps as params
    random: dict[str, Any] | None = None

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.metric)

    def as_params(self) -> dict[str, str]:
        """The sweep as MLflow params of the parent run: ``sweep.<name>`` -> its values."""
        params = {f"sweep.{name}": json.dumps(values) for name, values in self.grid.items()}
        for name, spec in (self.random or {}).items():
            params[f"sweep.random.{name}"] = json.dumps(spec)
        return {**params, "sweep.metric": self.metric, "sweep.trials": str(len(self.trials))}


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _fail(where: str, problem: str) -> ParamsError:
    return ParamsError(f"{where}: {problem}")


def _check_name(name: str, where: str) -> str:
    section, _, key = name.partition(".")
    known = ", ".join(f"{SECTION}.{k}" for k in TrainParams.model_fields if k not in FIXED)
    if section != SECTION or key not in TrainParams.model_fields:
        raise _fail(where, f"unknown parameter '{name}' (a sweep varies one of: {known})")
    if key in FIXED:
        raise _fail(where, f"'{name}' makes the validation rows every trial is scored on: fixed")
    return key


def _check_value(base: TrainParams, key: str, value: Any, where: str) -> Any:
    """``value`` as ``train.<key>``'s own validation takes it; the error names the key."""
    try:
        checked = TrainParams(**{**base.model_dump(), key: value})
    except ValidationError as error:
        why = "; ".join(e["msg"] for e in error.errors())
        raise _fail(where, f"{value!r} is not a valid {SECTION}.{key}: {why}") from None
    return getattr(checked, key)


def _draws(spec: Mapping[str, Any], base: TrainParams, where: str) -> list[dict[str, Any]]:
    """``random:``'s ``n`` draws, seeded by its ``seed``: one dict of values each."""
    spec = dict(spec)
    n, seed = spec.pop("n", None), spec.pop("seed", 0)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise _fail(f"{where}.n", f"expected a whole number of draws ≥ 1, got {n!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise _fail(f"{where}.seed", f"expected a seed ≥ 0, got {seed!r}")
    if not spec:
        raise _fail(where, "no parameter ranges: give {<name>: {low, high, log}}")
    ranges = {}
    for name, raw in spec.items():
        key = _check_name(name, f"{where}.{name}")
        try:
            ranges[name] = (key, RandomRange.model_validate(raw))
        except ValidationError as error:
            why = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'range'}: {e['msg']}" for e in error.errors()
            )
            raise _fail(f"{where}.{name}", why) from None
    rng = random.Random(seed)
    integer = {"epochs", "batch_size", "early_stopping_patience"}
    draws = []
    for _ in range(n):
        values = {}
        for name, (key, r) in ranges.items():
            x = (
                math.exp(rng.uniform(math.log(r.low), math.log(r.high)))
                if r.log
                else rng.uniform(r.low, r.high)
            )
            x = round(x) if key in integer else float(f"{x:.6g}")
            values[name] = _check_value(base, key, x, f"{where}.{name}")
        draws.append(values)
    return draws


def plan_trials(
    sweep: SweepParams, base: TrainParams, task: str, where: str = "sweep"
) -> SweepPlan:
    """The trials ``sweep`` declares (the grid's combinations, each with every random draw),
    checked; ``ParamsError`` names the key at fault. ``base`` gives the values not swept."""
    if not sweep.grid and not sweep.random:
        raise _fail(where, "declares no trials: give grid: or random:")
    grid: dict[str, list[Any]] = {}
    for name, values in sweep.grid.items():
        at = f"{where}.grid.{name}"
        key = _check_name(name, at)
        if not values:
            raise _fail(at, "empty list of values")
        grid[name] = [_check_value(base, key, v, at) for v in values]
    draws = _draws(sweep.random, base, f"{where}.random") if sweep.random else [{}]
    overlap = set(grid) & set(draws[0])
    if overlap:
        raise _fail(where, f"{sorted(overlap)[0]} is in both grid and random")
    combinations = list(itertools.product(*grid.values())) if grid else [()]
    count = len(combinations) * len(draws)
    if count > MAX_TRIALS:
        raise _fail(where, f"{count} trials; at most {MAX_TRIALS} in one run")
    trials = [
        Trial(i, {**dict(zip(grid, combo, strict=True)), **draw})
        for i, (combo, draw) in enumerate(itertools.product(combinations, draws))
    ]
    if base.validation_fraction <= 0:
        raise _fail(
            f"{SECTION}.validation_fraction",
            "a sweep chooses its winner on validation rows: set it above 0",
        )
    named = sweep.metric or base_name(HEADLINE[task])
    if named.startswith((TEST, TRAIN)):
        raise _fail(
            f"{where}.metric",
            f"'{named}': a sweep chooses on validation rows; name the metric alone or as val_*",
        )
    metric = base_name(named)  # "mae": the vocabulary's val_mae, as the task's test_mae
    if metric not in TASK_METRICS[task]:
        raise _fail(
            f"{where}.metric",
            f"'{named}' is not a {task} metric ({', '.join(TASK_METRICS[task])})",
        )
    parallel = sweep.parallel or os.cpu_count() or 1
    return SweepPlan(trials, parallel, metric, grid, dict(sweep.random) if sweep.random else None)


def parse_cli(assignments: Sequence[str]) -> dict[str, list[Any]]:
    """``--sweep`` arguments (``name=v1,v2``) as a grid, each value a YAML literal; lists
    (``train.hidden_layers=[32],[64,32]``) split at the top level only. Never evaluates."""
    grid: dict[str, list[Any]] = {}
    for text in assignments:
        name, equals, values = text.partition("=")
        name = name.strip()
        where = f"--sweep {text!r}"
        if not equals or not name:
            raise _fail(where, "expected <parameter>=<value>,<value>...")
        if name in grid:
            raise _fail(where, f"{name} given twice")
        grid[name] = [_literal(part, where) for part in _split_top(values)]
        if not grid[name]:
            raise _fail(where, f"empty list of values for {name}")
    return grid


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _literal(text: str, where: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise _fail(where, f"{text!r} is not a literal value") from None
    if isinstance(value, str) and _EXPONENT.fullmatch(text.strip()):
        value = float(text)  # YAML 1.1 reads 1e-3 as text; a person means the number
    scalars = (int, float, str, bool, type(None))
    ok = isinstance(value, scalars) or (
        isinstance(value, list) and all(isinstance(v, scalars) for v in value)
    )
    if not ok:
        raise _fail(where, f"{text!r} is not a literal value")
    return value


def declared(from_params: SweepParams | None, cli_arguments: str = "") -> SweepParams | None:
    """The run's sweep: ``--sweep``'s grid (``cli_arguments``, a JSON list of its arguments, as
    ``settings.sweep_arguments`` hands them over) in place of params.yaml's grid and random
    draws, else params.yaml's."""
    raw = cli_arguments.strip()
    if not raw:  # a section with only parallel: or metric: is settings for a --sweep run
        return from_params if from_params and (from_params.grid or from_params.random) else None
    try:
        assignments = json.loads(raw)
    except ValueError:
        raise ParamsError("--sweep: not a JSON list of name=values") from None
    if not isinstance(assignments, list) or not all(isinstance(a, str) for a in assignments):
        raise ParamsError("--sweep: not a JSON list of name=values")
    grid = parse_cli(assignments)
    kept = from_params.model_dump(exclude={"grid", "random"}) if from_params else {}
    return SweepParams(grid=grid, **kept)
