"""The model card: what a model is, what it learned from, how good it is and what it is for, in
Markdown. Pure rendering from the run's records.

It is written as ``model_card.md`` beside ``model.keras`` and is the registered version's
description, which MLflow's UI and DagsHub show on the model's page: someone who finds the
model there, not the pull request, reads what it is. Nothing in it changes between runs that
reuse the same model and report (no times), so a rerun writes the same card.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlops_assets.records import CATEGORICAL, FeatureSet, MetricsReport
from mlops_assets.report.metrics import higher_is_better

# MLflow's SQL stores keep a model version's description in a VARCHAR(5000).
MAX_DESCRIPTION_CHARS = 5000
NOT_STATED = "_Not stated: set `model_card.{key}` in params.yaml._"
NAIVE = {
    "regression": "always predicts the training rows' mean",
    "binary_classification": "always predicts the training rows' majority class",
    "multiclass_classification": "always predicts the training rows' class shares",
}


def _fmt(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.4g}"


def _task_section(report: MetricsReport, features: FeatureSet) -> list[str]:
    lines = [
        "## Task",
        "",
        f"- task: {report.task.replace('_', ' ')}",
        f"- target: `{features.target}`",
    ]
    if features.classes:
        lines.append(f"- classes: {', '.join(f'`{c}`' for c in features.classes)}")
    arrow = "higher" if higher_is_better(report.headline) else "lower"
    lines.append(f"- headline metric: `{report.headline}` ({arrow} is better)")
    return lines


def _data_section(report: MetricsReport, features: FeatureSet) -> list[str]:
    train, test = len(features.y_train), len(features.y_test)
    lines = [
        "## Data",
        "",
        f"- path: `{report.params.get('data.path', '?')}`",
        f"- hash (MD5): `{features.data_hash or report.data_hash}`",
        f"- rows: {train + test} ({train} training, {test} held out)",
    ]
    if features.dropped_target_rows:
        lines.append(f"- rows dropped for a missing target: {features.dropped_target_rows}")
    if features.data_source:
        lines.append(f"- from: {features.data_source}")
    lines += ["", "| column | kind | missing |", "|---|---|---:|"]
    for column in features.columns:
        kind = column.description
        if column.kind == CATEGORICAL and column.categories:
            kind += f", {column.categories} categories"
        lines.append(f"| `{column.name}` | {kind} | {column.missing_fraction:.1%} |")
    return lines


def _training_section(report: MetricsReport, epochs_run: int) -> list[str]:
    builder = report.params.get("train.model") or "None"
    builder = "the built-in MLP" if builder == "None" else f"`{builder}`"
    train = {k: v for k, v in report.params.items() if k.startswith("train.")}
    lines = ["## Training", "", f"- builder: {builder}", f"- epochs run: {epochs_run}"]
    lines += ["", "| parameter | value |", "|---|---|"]
    lines += [f"| {key} | `{value}` |" for key, value in train.items()]
    return lines


def _metrics_section(report: MetricsReport) -> list[str]:
    headline, value = report.headline, report.metrics.get(report.headline)
    naive = report.naive.get(headline)
    interval = f", {report.interval}" if report.interval else ""
    lines = [
        "## Held-out metrics",
        "",
        f"**{headline} = {_fmt(value)}**{interval} over resampled held-out rows.",
    ]
    if report.seeds is not None:
        spread = f"{report.seeds.mean:.4g} ± {report.seeds.spread:.2g}"
        lines.append(f"Across seeds {report.seeds.seeds}: {spread}.")
    if naive is not None and value is not None:
        better = value > naive if higher_is_better(headline) else value < naive
        lines += [
            "",
            f"A naive predictor that {NAIVE.get(report.task, 'ignores the features')} scores "
            f"{headline} = {_fmt(naive)}: the model is "
            f"{'better' if better else '**not better**'} by {_fmt(abs(value - naive))}.",
        ]
    lines += ["", "| metric | model | naive predictor | better |", "|---|---:|---:|:---:|"]
    for name, metric in report.metrics.items():
        arrow = "↑ higher" if higher_is_better(name) else "↓ lower"
        lines.append(f"| {name} | {_fmt(metric)} | {_fmt(report.naive.get(name))} | {arrow} |")
    return lines


def _gate_section(report: MetricsReport) -> list[str]:
    decision = "passed" if report.gate_passed else "failed"
    lines = ["## Quality gate", "", f"- decision: **{decision}**"]
    lines += [f"- {reason}" for reason in report.gate_reasons]
    base = report.baseline
    if base is None:
        why = report.baseline_note or "no earlier run to compare with"
        lines.append(f"- baseline: none ({why})")
    else:
        value = _fmt(base.metrics.get(report.headline))
        where = f", {base.source}" if base.source else ""
        lines.append(f"- baseline: {base.label}{where}: {report.headline} = {value}")
    return lines


def render_model_card(
    report: MetricsReport,
    features: FeatureSet,
    epochs_run: int,
    model_card: Mapping[str, str] | None = None,
) -> str:
    """The card of the model ``report`` judged: task, data and its columns, training, held-out
    metrics against the naive predictor, the gate's decision and baseline, and the
    ``model_card`` texts of params.yaml (``intended_use``, ``limitations``)."""
    texts = model_card or {}
    title = f"# Model card: {features.target} ({report.task.replace('_', ' ')})"
    sections = [
        [title, "", "_Written by mlops-assets from the run that trained and judged this model._"],
        _task_section(report, features),
        _data_section(report, features),
        _training_section(report, epochs_run),
        _metrics_section(report),
        _gate_section(report),
        ["## Intended use", "", texts.get("intended_use") or NOT_STATED.format(key="intended_use")],
        ["## Limitations", "", texts.get("limitations") or NOT_STATED.format(key="limitations")],
    ]
    if report.mlflow_run_id:
        sections.append(["## Run", "", f"- MLflow run with the report: `{report.mlflow_run_id}`"])
    return "\n\n".join("\n".join(lines) for lines in sections).rstrip() + "\n"


def as_description(card: str, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    """``card`` fit for a model version's description: cut at a line boundary, with a note
    pointing to the whole file, when it is longer than MLflow's SQL stores keep."""
    if len(card) <= limit:
        return card
    note = "\n\n_Shortened to fit the registry; the whole card is model_card.md beside the model._"
    note += "\n"
    cut = card[: limit - len(note)]
    return cut[: cut.rfind("\n")] + note
