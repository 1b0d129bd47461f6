"""The pull-request comment: pure Markdown rendering of a ``MetricsReport``.

Sections come in order of importance. When the body would exceed GitHub's limit, the least
important sections go first (full parameter list, plots, charts), then long text is cut; the
status line, the metrics table and the links always stay.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_assets.records import MetricsReport, Registration
from mlops_assets.report.metrics import higher_is_better
from mlops_assets.report.promotions import promotions_section, registration_line
from mlops_assets.report.seeds import seed_line
from mlops_assets.report.trials import trials_section
from mlops_assets.report.verdict import compare, headline_verdict

# GitHub rejects comment bodies over 65,536 characters.
GITHUB_BODY_LIMIT = 65_536
MARKER = "<!-- mlops-assets report -->"
MAX_CHART_POINTS = 60
MAX_VALUE_CHARS = 120
MAX_LIST_ITEMS = 50  # gate reasons and changed parameters shown; the rest are counted
MAX_REASON_CHARS = 400


def sticky_marker(key: str) -> str:
    """The hidden lines that identify this workflow's comment; edited in place on every push."""
    return f"{MARKER}\n<!-- mlops-assets sticky: {key} -->"


@dataclass(frozen=True)
class CommentLinks:
    """Where the run can be inspected; every field is optional."""

    ci_run_url: str | None = None
    commit_sha: str | None = None
    commit_url: str | None = None
    duration_seconds: float | None = None
    model_card: str | None = None  # the version's page (the card is its description), or the file


@dataclass(frozen=True)
class PublishedPlots:
    """What the plot publisher produced: name -> URL, and whether to embed them as images."""

    urls: Mapping[str, str] = field(default_factory=dict)
    embed: bool = False
    note: str = ""


@dataclass(frozen=True)
class _Section:
    name: str
    text: str
    priority: int  # lower is more important; 0 is never dropped


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.4g}"


def _plain_number(value: float) -> str:
    """A number Mermaid parses: no exponent, no NaN."""
    text = f"{value:.6g}"
    if "e" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text or "0"


def clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` fit for a table cell or a bullet: one line, pipes escaped, at most ``limit``."""
    text = str(text).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def comparison_line(report: MetricsReport) -> str:
    """How the headline was compared with the baseline: paired on the same rows, or not."""
    if report.baseline is None or report.paired is None:
        return ""
    difference = report.paired.difference
    if difference is None:
        return f"Compared unpaired: {clip(report.paired.note, MAX_REASON_CHARS)}."
    return (
        f"Compared paired, both models on the same {report.paired.rows} held-out rows: "
        f"{report.headline} difference {difference.level:.0%} interval "
        f"{difference.low:+.4g} to {difference.high:+.4g}."
    )


def _change(delta: float | None, baseline: float | None) -> str:
    if delta is None:
        return "—"
    if delta == 0:
        return "0"
    text = f"{delta:+.4g}"
    if baseline:
        text += f" ({delta / abs(baseline):+.1%})"
    return text


def status_section(report: MetricsReport, registration: Registration | None = None) -> str:
    headline = report.headline
    value = report.metrics.get(headline)
    base = report.baseline.metrics.get(headline) if report.baseline else None
    verdict = headline_verdict(report)
    against = (
        f"baseline {_fmt(base)}, {verdict.wording} {_change(verdict.delta, base)}"
        if base is not None
        else "no baseline yet"
    )
    spread = f" · {report.interval} over resampled held-out rows" if report.interval else ""
    if report.seeds is not None:
        spread += f" · {seed_line(report.seeds)}"
    arrow = "↑" if higher_is_better(headline) else "↓"
    gate = "✅ **Quality gate passed**" if report.gate_passed else "❌ **Quality gate failed**"
    lines = [f"{gate} · **{headline}** {arrow} = **{_fmt(value)}** ({against}){spread}"]
    lines += reason_lines(report.gate_reasons)
    if registration is not None:
        lines += ["", registration_line(registration)]
    return "\n".join(lines)


def reason_lines(reasons: Sequence[str]) -> list[str]:
    """The gate's reasons as a bullet list, each clipped, the ones beyond the first
    ``MAX_LIST_ITEMS`` counted (the comment and the check run say them alike)."""
    lines = [f"- {clip(reason, MAX_REASON_CHARS)}" for reason in reasons[:MAX_LIST_ITEMS]]
    if len(reasons) > MAX_LIST_ITEMS:
        lines.append(f"- … and {len(reasons) - MAX_LIST_ITEMS} more")
    return lines


def metrics_section(report: MetricsReport) -> str:
    """Each metric for this commit, the baseline, the change and whether it is better."""
    baseline = report.baseline.metrics if report.baseline else {}
    rows = [
        "### Metrics",
        "",
        "| metric | better | this commit | baseline | change | | naive predictor |",
        "|---|:---:|---:|---:|---:|---|---:|",
    ]
    for name, value in report.metrics.items():
        base = baseline.get(name)
        verdict = (
            headline_verdict(report) if name == report.headline else compare(name, value, base)
        )
        label = f"**{name}**" if name == report.headline else name
        rows.append(
            f"| {label} | {'↑ higher' if higher_is_better(name) else '↓ lower'} | {_fmt(value)} "
            f"| {_fmt(base)} | {_change(verdict.delta, base)} | {verdict.wording} "
            f"| {_fmt(report.naive.get(name))} |"
        )
    rows += ["", baseline_line(report)]
    if comparison_line(report):
        rows += ["", comparison_line(report)]
    return "\n".join(rows)


def baseline_line(report: MetricsReport) -> str:
    """Where the baseline came from, or why there is none."""
    base = report.baseline
    if base is None:
        why = report.baseline_note or "no finished run on the base branch to compare with"
        return f"_No baseline yet: {clip(why, MAX_REASON_CHARS)}._"
    if not base.run_id:
        return f"Baseline: {base.source}."
    run = f"[run `{base.run_id[:12]}`]({base.url})" if base.url else f"run `{base.run_id[:12]}`"
    return f"Baseline: {run}, {base.source}." if base.source else f"Baseline: {run}."


def inputs_section(report: MetricsReport) -> str:
    """Parameters that differ from the baseline and whether the data changed."""
    lines = ["### What changed in the inputs", ""]
    if report.baseline is None:
        lines.append(f"- data hash: `{report.data_hash or 'unknown'}` (no baseline yet)")
        return "\n".join(lines)
    old_hash = report.baseline.data_hash
    if not old_hash:
        lines.append(f"- data hash: `{report.data_hash}` (the baseline recorded none)")
    elif old_hash == report.data_hash:
        lines.append(f"- data: unchanged (`{report.data_hash}`)")
    else:
        lines.append(f"- data: **changed** `{old_hash}` → `{report.data_hash}`")
    old, new = report.baseline.params, report.params
    changed = [
        k
        for k in sorted(set(old) | set(new))
        if k not in old or k not in new or str(old[k]) != str(new[k])
    ]
    if not changed:
        lines.append("- parameters: same as the baseline")
        return "\n".join(lines)
    lines += ["", "| parameter | baseline | this commit |", "|---|---|---|"]
    for key in changed[:MAX_LIST_ITEMS]:
        before = f"`{clip(old[key])}`" if key in old else "_unset_"
        after = f"`{clip(new[key])}`" if key in new else "_unset_"
        lines.append(f"| {clip(key)} | {before} | {after} |")
    if len(changed) > MAX_LIST_ITEMS:
        lines += ["", f"… and {len(changed) - MAX_LIST_ITEMS} more changed parameters"]
    return "\n".join(lines)


def decisions_section(report: MetricsReport) -> str:
    """Which assets this run recomputed and which it reused, and what changed."""
    if not report.decisions:
        return ""
    rows = ["### Recomputed or reused, and why", "", "| asset | this run | why |", "|---|---|---|"]
    for decision in report.decisions:
        action = f"**{decision.action}**" if decision.action == "recomputed" else decision.action
        why = clip(decision.why, MAX_REASON_CHARS) or "—"
        rows.append(f"| {decision.asset} | {action} | {why} |")
    return "\n".join(rows)


def champion_history(report: MetricsReport, registration: Registration | None) -> str:
    if registration is None:
        return ""
    return promotions_section(registration, report.headline)


def _downsample(values: Sequence[float], points: int) -> list[int]:
    """Indices of at most ``points`` evenly spread values, always keeping the last."""
    n = len(values)
    if n <= points:
        return list(range(n))
    step = (n - 1) / (points - 1)
    return sorted({round(i * step) for i in range(points)})


def learning_curve_chart(history: Mapping[str, Sequence[float]]) -> str:
    """Training and validation loss per epoch as a Mermaid ``xychart-beta`` line chart."""
    series = [(n, history[n]) for n in ("loss", "val_loss") if history.get(n)]
    if not series:
        return ""
    length = min(len(values) for _, values in series)
    if length < 2:
        return ""
    keep = _downsample(range(length), MAX_CHART_POINTS)
    finite = [v for _, values in series for v in (values[i] for i in keep) if math.isfinite(v)]
    if not finite:
        return ""
    cap = max(finite)
    lines = [
        "```mermaid",
        "xychart-beta",
        '    title "Learning curve"',
        f'    x-axis "epoch" [{", ".join(str(i + 1) for i in keep)}]',
        '    y-axis "loss"',
    ]
    for _, values in series:
        points = [values[i] if math.isfinite(values[i]) else cap for i in keep]
        lines.append(f"    line [{', '.join(_plain_number(v) for v in points)}]")
    lines.append("```")
    legend = " and ".join(
        f"{'first' if i == 0 else 'second'} line: `{n}`" for i, (n, _) in enumerate(series)
    )
    return "\n".join(lines) + f"\n\n<sub>{legend}</sub>"


def comparison_chart(report: MetricsReport) -> str:
    """This commit against the baseline (or the naive predictor) as Mermaid bar charts, one per
    direction, so metrics of one scale share an axis (errors apart from scores)."""
    other = report.baseline.metrics if report.baseline else report.naive
    other_name = "baseline" if report.baseline else "naive predictor"
    charts = []
    for higher, title in ((False, "Errors (lower is better)"), (True, "Scores (higher is better)")):
        names = [
            n
            for n, v in report.metrics.items()
            if higher_is_better(n) == higher
            and math.isfinite(v)
            and math.isfinite(other.get(n, math.nan))
        ]
        if not names:
            continue
        charts += [
            "```mermaid",
            "xychart-beta",
            f'    title "{title}"',
            "    x-axis [" + ", ".join(f'"{n}"' for n in names) + "]",
            f"    bar [{', '.join(_plain_number(other[n]) for n in names)}]",
            f"    bar [{', '.join(_plain_number(report.metrics[n]) for n in names)}]",
            "```",
            "",
        ]
    if not charts:
        return ""
    return "\n".join(charts) + f"<sub>first bar: {other_name}, second bar: this commit</sub>"


def charts_section(report: MetricsReport) -> str:
    parts = [p for p in (learning_curve_chart(report.history), comparison_chart(report)) if p]
    return "\n\n".join(["### Charts", *parts]) if parts else ""


def plots_section(plots: PublishedPlots) -> str:
    if not plots.urls and not plots.note:
        return ""
    lines = ["### Plots", ""]
    for name, url in plots.urls.items():
        title = name.replace("_", " ")
        lines.append(f"![{title}]({url})" if plots.embed else f"- [{title}]({url})")
    if plots.note:
        lines.append(plots.note)
    return "\n".join(lines)


def params_section(params: Mapping[str, Any]) -> str:
    if not params:
        return ""
    rows = ["<details><summary>All parameters</summary>", "", "| parameter | value |", "|---|---|"]
    rows += [f"| {clip(k)} | `{clip(v)}` |" for k, v in params.items()]
    return "\n".join([*rows, "", "</details>"])


def links_section(report: MetricsReport, links: CommentLinks) -> str:
    parts = []
    if report.mlflow_run_url:
        label = "DagsHub experiment" if "dagshub.com" in report.mlflow_run_url else "MLflow run"
        parts.append(f"[{label}]({report.mlflow_run_url})")
    elif report.mlflow_run_id:
        parts.append(f"MLflow run `{report.mlflow_run_id}`")
    if links.model_card:
        parts.append(f"[model card]({links.model_card})")
    if links.ci_run_url:
        parts.append(f"[CI run]({links.ci_run_url})")
    if links.commit_sha:
        short = f"`{links.commit_sha[:7]}`"
        parts.append(
            f"commit [{short}]({links.commit_url})" if links.commit_url else f"commit {short}"
        )
    if report.data_hash:
        parts.append(f"data `{report.data_hash[:12]}`")
    if links.duration_seconds is not None:
        parts.append(f"took {links.duration_seconds:.0f} s")
    footer = "<sub>Posted by mlops-assets; this comment is updated in place on every push.</sub>"
    return "\n".join([" · ".join(parts), "", footer]) if parts else footer


def github_length(text: str) -> int:
    """Length as GitHub may count it (UTF-16 code units): never less than ``len``."""
    return len(text.encode("utf-16-le")) // 2


def _truncation_note(dropped: list[str]) -> str:
    return (
        f"<sub>Shortened to fit GitHub's {GITHUB_BODY_LIMIT:,}-character limit: "
        f"left out {', '.join(dropped)}.</sub>"
    )


def _assemble(header: str, sections: list[_Section], dropped: list[str]) -> str:
    parts = [header, *(s.text for s in sections if s.text)]
    if dropped:
        parts.append(_truncation_note(dropped))
    return "\n\n".join(parts) + "\n"


def _cut(text: str, budget: int) -> str:
    """Cut ``text`` to at most ``budget`` UTF-16 units, at a line boundary when there is one."""
    while github_length(text) > budget:
        text = text[: len(text) - (github_length(text) - budget)]
    end = text.rfind("\n")
    return text[:end] if end > 0 else text


def render_comment(
    report: MetricsReport,
    *,
    key: str = "retrain",
    registration: Registration | None = None,
    plots: PublishedPlots | None = None,
    links: CommentLinks | None = None,
    limit: int = GITHUB_BODY_LIMIT,
) -> str:
    """The whole comment body, at most ``limit`` characters, starting with the sticky marker;
    with ``model_version``'s ``registration``, what merging would do to the champion."""
    links = links or CommentLinks()
    header = f"{sticky_marker(key)}\n## Model report: {key}"
    sections = [
        _Section("sweep trials", trials_section(report.sweep), 1),
        _Section("status", status_section(report, registration), 0),
        _Section("metrics", metrics_section(report), 0),
        _Section("input changes", inputs_section(report), 1),
        _Section("data changes", report.data_diff, 1),
        _Section("recomputed or reused", decisions_section(report), 1),
        _Section("champion history", champion_history(report, registration), 2),
        _Section("charts", charts_section(report), 2),
        _Section("plots", plots_section(plots or PublishedPlots()), 3),
        _Section("parameter list", params_section(report.params), 4),
        _Section("links", links_section(report, links), 0),
    ]
    sections = [s for s in sections if s.text]

    def assemble(kept: list[_Section]) -> str:
        dropped = [s.name for s in sorted(sections, key=lambda s: -s.priority) if s not in kept]
        return _assemble(header, kept, dropped)

    kept = list(sections)
    for victim in sorted((s for s in sections if s.priority), key=lambda s: -s.priority):
        if github_length(assemble(kept)) <= limit:
            break
        kept.remove(victim)
    # Put back what fits after all, most important first (a small chart after a huge list).
    for section in sorted((s for s in sections if s not in kept), key=lambda s: s.priority):
        trial = [s for s in sections if s in kept or s is section]
        if github_length(assemble(trial)) <= limit:
            kept = trial
    body = assemble(kept)
    if github_length(body) > limit:  # the essentials alone are too long: cut the text
        dropped = [s.name for s in sorted(sections, key=lambda s: -s.priority) if s not in kept]
        note = _truncation_note([*dropped, "the rest of the text"])
        body = _cut(body, limit - github_length(note) - 3) + "\n\n" + note + "\n"
    return body
