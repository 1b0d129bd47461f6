"""The Markdown report of one training run: pure rendering from plain values."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_assets.report.metrics import HEADLINE, higher_is_better

if TYPE_CHECKING:
    import pandas as pd


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def metrics_table(metrics: Mapping[str, float], naive: Mapping[str, float]) -> str:
    """Each held-out metric beside a featureless predictor's score, with the better direction."""
    rows = ["| metric | model | naive predictor | better |", "|---|---:|---:|:---:|"]
    for name, value in metrics.items():
        arrow = "↑ higher" if higher_is_better(name) else "↓ lower"
        rows.append(f"| {name} | {_fmt(value)} | {_fmt(naive.get(name, float('nan')))} | {arrow} |")
    return "\n".join(rows)


def render_report(
    *,
    task: str,
    metrics: Mapping[str, float],
    naive: Mapping[str, float],
    data: Mapping[str, object],
    params: Mapping[str, object],
    plots: Mapping[str, str],
    epochs_run: int,
    columns: pd.DataFrame | None = None,
    per_class: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """report.md: headline, metrics (per class too, multiclass), data and its columns (kind,
    missing share, imputed value), parameters, then the plots by relative path."""
    headline = HEADLINE[task]
    classes = []
    if per_class:
        classes = ["", "| class | precision | recall |", "|---|---:|---:|"]
        classes += [
            f"| {label} | {_fmt(v['precision'])} | {_fmt(v['recall'])} |"
            for label, v in per_class.items()
        ]
    table = []
    if columns is not None and len(columns):
        table = ["", "### Columns", "", columns.to_markdown(index=False, floatfmt=".4g")]
    lines = [
        "# Model report",
        "",
        (
            f"**{headline} = {_fmt(metrics[headline])}** on the held-out split "
            f"({task.replace('_', ' ')}, {epochs_run} epochs)."
        ),
        "",
        "## Metrics",
        "",
        metrics_table(metrics, naive),
        *classes,
        "",
        "## Data",
        "",
        *(f"- {key}: `{value}`" for key, value in data.items()),
        *table,
        "",
        "## Parameters",
        "",
        "| parameter | value |",
        "|---|---|",
        *(f"| {key} | `{value}` |" for key, value in params.items()),
        "",
        "## Plots",
        "",
        *(f"![{name}]({path})" for name, path in plots.items()),
        "",
    ]
    return "\n".join(lines)


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


MAX_EMBEDDED_BYTES = 150_000  # per image: Dagster+ refuses oversized metadata (dagster #17189)
# ![name](plots/x.png): a local PNG, not a data: URI or a URL
LOCAL_PNG = re.compile(r"!\[([^\]]*)\]\((?!data:|https?://)([^)\s]+\.png)\)")


def with_embedded_plots(markdown: str, run_dir: Path, limit: int = MAX_EMBEDDED_BYTES) -> str:
    """``markdown`` with its local plot images (``![name](plots/x.png)``, relative to
    ``run_dir``) inlined as ``data:`` URIs, for the Dagster UI: it renders Markdown metadata,
    allows ``data:`` images (dagster #13443), has no image metadata type (#15468), and cannot
    read the run directory. An image over ``limit`` bytes, or missing, stays a path."""

    def inline(match: re.Match) -> str:
        name, target = match.group(1), match.group(2)
        path = run_dir / target
        if not path.is_file() or path.stat().st_size > limit:
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"![{name}](data:image/png;base64,{data})"

    return LOCAL_PNG.sub(inline, markdown)
