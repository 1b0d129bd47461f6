"""The values the assets hand each other, and what the report compares against.

Plain dataclasses: the pure renderers, the checks and the tests build and read them without
Dagster. Large things stay files (the model) or arrays; nothing here imports numpy or pandas
at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class Column:
    """One feature column: its kind, what the saved model's input takes, how much is missing,
    and (once the split is made) the value a missing cell becomes, from the training rows."""

    name: str
    kind: str  # NUMERIC or CATEGORICAL
    dtype: str  # the model input's values: "float", "integer" (codes) or "string"
    missing_fraction: float  # over all rows of the file
    declared: bool = False  # named in data.columns rather than inferred
    fill: float | int | str | None = None  # training median (numeric) or most frequent value
    missing_indicator: bool = False  # numeric with missing training cells: a 0/1 input too
    categories: int = 0  # distinct training values (categorical)

    @property
    def description(self) -> str:
        how = "declared" if self.declared else "inferred"
        return f"{self.kind} ({self.dtype}, {how})"


@dataclass(frozen=True)
class Table:
    """A validated CSV: typed feature columns and the target, rows without a target dropped."""

    frame: pd.DataFrame
    columns: list[Column]  # the features, in file order
    dropped_target_rows: int = 0  # rows whose target was missing


@dataclass(frozen=True)
class Dataset:
    """A validated table and what it is for; ``data_hash`` is the MD5 of the source file."""

    frame: pd.DataFrame
    target: str
    task: str
    source: str
    data_hash: str
    params: dict  # the ``data:`` settings it was read with
    origin: str  # git, or the DVC remote it was pulled from
    columns: list[Column] = field(default_factory=list)
    dropped_target_rows: int = 0


@dataclass(frozen=True)
class FeatureSet:
    """The split the model learns from: raw feature columns (missing cells as NaN), the target
    encoded (class index for classification), and each column's fill value from the training
    split only, so nothing about the held-out rows leaks into the model's preprocessing."""

    columns: list[Column]
    target: str
    task: str
    x_train: pd.DataFrame
    y_train: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray
    seed: int
    classes: list = field(default_factory=list)  # original labels by class index
    data_hash: str = ""
    # What the split was made from, for the experiment tracker: ``data.*`` params (params.flat)
    # and where the data came from (git, or which DVC remote).
    params: dict[str, str] = field(default_factory=dict)
    data_source: str = ""
    dropped_target_rows: int = 0

    @property
    def feature_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class TrainedModel:
    """Where the saved model is and how training went (the model itself stays a file)."""

    path: str
    history: dict[str, list[float]]
    params: dict[str, str]  # ``data.*`` and ``train.*``, as logged to MLflow (params.flat)
    hyperparameters: dict = field(default_factory=dict)  # the ``train:`` values, typed
    classes: list = field(default_factory=list)  # labels by output index (classification)
    mlflow_run_id: str = ""  # the MLflow run that logged it
    mlflow_model_uri: str = ""  # models:/<id> (a logged model) or runs:/<run>/model
    sweep: SweepOutcome | None = None  # the trials it won, when a sweep trained it

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", []))


@dataclass(frozen=True)
class Baseline:
    """A finished run's results, as read back from experiment tracking."""

    run_id: str
    metrics: dict[str, float]
    params: dict[str, str] = field(default_factory=dict)
    data_hash: str | None = None
    commit: str | None = None
    url: str | None = None
    source: str = ""  # where it was found, said in the report: "the MLflow server ...", ...

    @property
    def label(self) -> str:
        """``run <id>`` for a tracked run, ``commit <sha>`` for committed metrics."""
        return f"run {self.run_id}" if self.run_id else f"commit {(self.commit or '')[:12]}"


@dataclass(frozen=True)
class Interval:
    """Where a metric would likely fall on other held-out rows (``report.noise``)."""

    low: float
    high: float
    level: float = 0.95

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.level:.0%} interval {self.low:.4g} to {self.high:.4g}"


@dataclass(frozen=True)
class SeedSpread:
    """The headline of models trained alike but for the seed (``gate.seeds``), first the one
    that is kept."""

    seeds: list[int]
    values: list[float]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def spread(self) -> float:
        """The sample standard deviation across the seeds."""
        mean = self.mean
        return (sum((v - mean) ** 2 for v in self.values) / (len(self.values) - 1)) ** 0.5


@dataclass(frozen=True)
class Paired:
    """Both models on the same held-out rows (``report.paired``): the interval of this model's
    headline minus the baseline's, or why the comparison could not be paired."""

    difference: Interval | None
    rows: int = 0
    note: str = ""


@dataclass(frozen=True)
class AssetDecision:
    """What a run did with one asset: ``recomputed``, ``reused`` or ``not in this run``."""

    asset: str
    action: str
    why: str = ""  # the change that made it recompute, or since when it is unchanged


@dataclass(frozen=True)
class MetricsReport:
    """Everything the publishing step needs to say what this run found."""

    task: str
    headline: str
    metrics: dict[str, float]
    naive: dict[str, float]
    markdown: str
    directory: str
    history: dict[str, list[float]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # as TrainedModel.params
    data_hash: str = ""
    plots: dict[str, str] = field(default_factory=dict)  # name -> absolute PNG path
    mlflow_run_id: str | None = None
    mlflow_run_url: str | None = None
    baseline: Baseline | None = None
    baseline_note: str = ""  # why there is no baseline, when there is none
    interval: Interval | None = None  # the headline's bootstrap interval (report.noise)
    paired: Paired | None = None  # this model minus the baseline on the same rows (report.paired)
    seeds: SeedSpread | None = None  # the headline across ``gate.seeds`` seeds, when N > 1
    data_diff: str = ""  # the Markdown section on the data against the base branch
    gate_passed: bool = True
    gate_reasons: list[str] = field(default_factory=list)
    reused_from_run: str | None = None  # the run that trained this model, when not this one
    decisions: list[AssetDecision] = field(default_factory=list)  # this run's, asset by asset
    sweep: SweepOutcome | None = None  # the trials the model won, when a sweep trained it


@dataclass(frozen=True)
class ModelVersion:
    """A version of the registered model in the MLflow Model Registry, with what this project
    tags it with (``tracking.registry``)."""

    name: str
    version: str
    run_id: str  # the MLflow run that logged the model
    report_run_id: str = ""  # the MLflow run with its held-out metrics and predictions
    dagster_run_id: str = ""  # the run whose directory holds its model and report
    commit: str = ""
    branch: str = ""
    pr_number: str = ""
    data_hash: str = ""
    headline: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    interval: Interval | None = None

    @property
    def value(self) -> float | None:
        return self.metrics.get(self.headline)


@dataclass(frozen=True)
class Promotion:
    """One move of the ``champion`` alias, kept as a tag on the version it moved to."""

    seq: int  # 1 for the first move, counted across the registered model
    version: str
    replaced: str | None  # the champion before, None for the first
    at: str  # when, ISO 8601 UTC
    by_run: str  # the Dagster run that moved it
    commit: str
    reason: str  # "merge to main", "rollback", ...
    deltas: dict[str, float] = field(default_factory=dict)  # metric: new minus replaced


@dataclass(frozen=True)
class Registration:
    """What ``model_version`` did with this run's model, and what merging it would do."""

    model: str  # the registered model's name
    role: str  # champion, candidate or not registered
    why: str
    version: ModelVersion | None = None
    champion_before: ModelVersion | None = None  # the champion when the run started
    promoted: Promotion | None = None  # the move this run made, if it made one
    alias: str | None = None  # the candidate's alias (pr-<N>), if it got one
    url: str | None = None  # the version in the MLflow UI, when there is one
    ledger: list[Promotion] = field(default_factory=list)  # every move so far, oldest first

    def stamp_content(self) -> dict:
        """What the registry holds after this run, for the DVC stamp: a rerun that finds the
        model registered and the champion in place must stamp what the run that moved it did,
        so neither the move's time and run nor the champion before it count."""
        champion = self.version if self.promoted else self.champion_before
        return {
            "model": self.model,
            "role": self.role,
            "why": self.why,
            "version": self.version.version if self.version else None,
            "alias": self.alias,
            "url": self.url,
            "champion": champion.version if champion else None,
            "moves": [[move.seq, move.version, move.replaced] for move in self.ledger],
        }


@dataclass(frozen=True)
class TrialResult:
    """One trial of a sweep (``sweeps.Trial``) trained: its score on the validation rows, how long
    it took, and where its model and MLflow child run are."""

    index: int
    values: dict  # the swept parameters' values, by dotted name
    seed: int
    metric: str
    value: float  # ``metric`` on the validation rows (never the held-out ones)
    epochs_run: int
    seconds: float
    model_path: str
    history: dict[str, list[float]] = field(default_factory=dict)
    hyperparameters: dict = field(default_factory=dict)  # the whole ``train:``, typed
    mlflow_run_id: str = ""  # the child run


@dataclass(frozen=True)
class SweepOutcome:
    """A sweep's trials and the one chosen, for the comment's and the UI's trials table."""

    metric: str  # chosen on this, on the validation rows
    higher_is_better: bool
    trials: list[TrialResult]
    winner: int  # the index of the trial chosen
    parent_run_id: str = ""
