"""The PR comment's Markdown: directions, deltas, input diffs, Mermaid charts, the size limit."""

import re

import pytest

from mlops_assets.defs.assets.metrics_report import MetricsReport
from mlops_assets.records import Baseline
from mlops_assets.report.comment import (
    GITHUB_BODY_LIMIT,
    MAX_CHART_POINTS,
    CommentLinks,
    PublishedPlots,
    github_length,
    render_comment,
)

REGRESSION = {"mae": 41.0, "rmse": 55.0, "r2": 0.45}
CLASSIFICATION = {"accuracy": 0.95, "precision": 0.96, "recall": 0.9, "f1": 0.93, "roc_auc": 0.97}


def report(task="regression", metrics=None, baseline=None, **overrides) -> MetricsReport:
    metrics = metrics or (REGRESSION if task == "regression" else CLASSIFICATION)
    fields = {
        "task": task,
        "headline": "mae" if task == "regression" else "roc_auc",
        "metrics": metrics,
        "naive": {k: 0.5 for k in metrics},
        "markdown": "",
        "directory": "/tmp/run",
        "history": {"loss": [4.0, 2.0, 1.0], "val_loss": [4.5, 2.5, 1.5]},
        "params": {"epochs": 300, "learning_rate": 0.005, "hidden_layers": [32]},
        "data_hash": "a" * 32,
        "baseline": baseline,
    }
    return MetricsReport(**{**fields, **overrides})


def row(body: str, metric: str) -> list[str]:
    [line] = [ln for ln in body.splitlines() if re.match(rf"\| (\*\*)?{metric}(\*\*)? \|", ln)]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_regression_lower_error_is_better_and_higher_r2_is_better():
    base = Baseline(run_id="b", metrics={"mae": 43.0, "rmse": 50.0, "r2": 0.40})
    body = render_comment(report(baseline=base))

    assert row(body, "mae") == ["**mae**", "↓ lower", "41", "43", "-2 (-4.7%)", "🟢 better", "0.5"]
    assert row(body, "rmse")[4:6] == ["+5 (+10.0%)", "🔴 worse"]
    assert row(body, "r2")[1] == "↑ higher" and row(body, "r2")[5] == "🟢 better"
    assert "**mae** ↓ = **41** (baseline 43, 🟢 better -2 (-4.7%))" in body


def test_classification_higher_auc_is_better():
    metrics = {**CLASSIFICATION, "roc_auc": 0.93}
    base = Baseline(run_id="b", metrics={**CLASSIFICATION, "recall": 0.8})
    body = render_comment(report("binary_classification", metrics, base))

    assert row(body, "roc_auc")[1:6] == ["↑ higher", "0.93", "0.97", "-0.04 (-4.1%)", "🔴 worse"]
    assert row(body, "recall")[5] == "🟢 better"
    assert row(body, "accuracy")[4:6] == ["0", "⚪ same"]


def test_without_a_baseline_it_says_so():
    body = render_comment(report())

    assert "(no baseline yet)" in body and "_No baseline yet" in body
    assert row(body, "mae")[3:6] == ["—", "—", ""]
    assert "### What changed in the inputs" in body and "(no baseline yet)" in body


def test_status_line_shows_the_gate_and_why():
    failed = render_comment(report(gate_passed=False, gate_reasons=["mae 41 > max 40"]))
    passed = render_comment(report())

    assert "❌ **Quality gate failed**" in failed and "\n- mae 41 > max 40" in failed
    assert "✅ **Quality gate passed**" in passed and "Quality gate failed" not in passed


def test_inputs_list_changed_parameters_and_data_hash():
    base = Baseline(
        run_id="b",
        metrics=REGRESSION,
        params={"epochs": "200", "learning_rate": "0.005", "hidden_layers": "[32]", "old": "x"},
        data_hash="b" * 32,
    )
    body = render_comment(report(baseline=base))

    assert f"- data: **changed** `{'b' * 32}` → `{'a' * 32}`" in body
    assert "| epochs | `200` | `300` |" in body and "| old | `x` | _unset_ |" in body
    assert "| learning_rate |" not in body.split("All parameters")[0]  # unchanged: not listed

    same = render_comment(report(baseline=Baseline("b", REGRESSION, {}, data_hash="a" * 32)))
    assert f"- data: unchanged (`{'a' * 32}`)" in same


def mermaid_blocks(body: str) -> list[str]:
    assert body.count("```mermaid") == len(re.findall(r"```mermaid\n.*?\n```", body, re.DOTALL))
    return re.findall(r"```mermaid\n(.*?)\n```", body, re.DOTALL)


def check_xychart(block: str) -> tuple[list[str], list[list[float]]]:
    """Parses a block the way Mermaid's xychart grammar reads it; fails on anything else."""
    lines = block.splitlines()
    assert lines[0] == "xychart-beta"
    categories, series = None, []
    for line in lines[1:]:
        if m := re.fullmatch(r'    title "[^"]+"', line):
            continue
        if m := re.fullmatch(r'    x-axis (?:"[^"]+" )?\[(.+)\]', line):
            categories = [c.strip().strip('"') for c in m[1].split(",")]
        elif re.fullmatch(r'    y-axis "[^"]+"', line):
            continue
        elif m := re.fullmatch(r"    (?:line|bar) \[(.+)\]", line):
            values = [v.strip() for v in m[1].split(",")]
            assert all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in values), values
            series.append([float(v) for v in values])
        else:
            pytest.fail(f"unexpected Mermaid line {line!r}")
    assert categories and series and all(len(s) == len(categories) for s in series)
    return categories, series


def test_mermaid_charts_are_well_formed_and_downsampled():
    history = {"loss": [1000 / (i + 1) for i in range(300)], "val_loss": [1e-7] * 300}
    base = Baseline(run_id="b", metrics={"mae": 43.0, "rmse": 50.0, "r2": -0.2})
    blocks = mermaid_blocks(render_comment(report(history=history, baseline=base)))

    curve, errors, scores = (check_xychart(b) for b in blocks)
    assert len(curve[0]) <= MAX_CHART_POINTS and curve[0][0] == "1" and curve[0][-1] == "300"
    assert curve[1][0][-1] == pytest.approx(1000 / 300, rel=1e-5)
    assert curve[1][1][0] == pytest.approx(1e-7)  # tiny values without an exponent
    assert errors == (["mae", "rmse"], [[43.0, 50.0], [41.0, 55.0]])
    assert scores == (["r2"], [[-0.2], [0.45]])


def test_classification_charts_share_one_axis_of_scores():
    blocks = mermaid_blocks(render_comment(report("binary_classification")))

    assert [check_xychart(b)[0] for b in blocks[1:]] == [list(CLASSIFICATION)]


def test_plots_are_embedded_or_linked_never_as_data_uris():
    embedded = render_comment(
        report(), plots=PublishedPlots({"roc_curve": "https://h/r.png"}, True)
    )
    linked = render_comment(report(), plots=PublishedPlots({"roc_curve": "https://h/r.png"}))

    assert "![roc curve](https://h/r.png)" in embedded
    assert "- [roc curve](https://h/r.png)" in linked
    assert "data:" not in embedded + linked


def test_links_and_footer():
    body = render_comment(
        report(mlflow_run_url="https://dagshub.com/o/r.mlflow/#/experiments/0/runs/x"),
        links=CommentLinks("https://ci/run/1", "abcdef0123456789", "https://c/abcdef0", 73.4),
    )
    last = body.rstrip().splitlines()[-3]

    assert last.startswith("[DagsHub experiment](https://dagshub.com/o/r.mlflow/#/")
    assert "[CI run](https://ci/run/1)" in last and "commit [`abcdef0`](https://c/abcdef0)" in last
    assert "data `aaaaaaaaaaaa`" in last and "took 73 s" in last
    assert "[MLflow run](http://m/#/runs/1)" in render_comment(
        report(mlflow_run_url="http://m/#/runs/1")
    )


def test_body_starts_with_the_sticky_marker_of_its_key():
    body = render_comment(report(), key="nightly")

    assert body.startswith("<!-- mlops-assets report -->\n<!-- mlops-assets sticky: nightly -->\n")


def test_huge_reports_drop_the_least_important_parts_first():
    params = {f"param_{i}": "x" * 100 for i in range(2000)}  # ~230 KB of parameter rows
    body = render_comment(report(params=params, baseline=Baseline("b", REGRESSION, {})))

    assert github_length(body) <= GITHUB_BODY_LIMIT
    assert "All parameters" not in body  # the full list went first
    assert "| param_0 | _unset_ |" in body and "… and 1950 more changed parameters" in body
    assert "### Charts" in body
    assert "left out parameter list.</sub>" in body
    assert row(body, "mae")[0] == "**mae**" and "Quality gate passed" in body
    assert "Posted by mlops-assets" in body


def test_a_small_section_stays_when_a_bigger_less_important_one_goes():
    plots = PublishedPlots({f"plot_{i}": "https://h/" + "p" * 200 for i in range(40)}, True)
    full = render_comment(report(), plots=plots)
    limit = len(full) - 100

    body = render_comment(report(), plots=plots, limit=limit)

    assert github_length(body) <= limit
    assert "### Plots" not in body and "All parameters" in body
    assert "left out plots.</sub>" in body


def test_when_the_essentials_are_too_long_the_text_is_cut():
    reasons = [f"reason {i}: " + "é" * 300 for i in range(100)]
    body = render_comment(report(gate_passed=False, gate_reasons=reasons), limit=5_000)

    assert github_length(body) <= 5_000
    assert body.startswith("<!-- mlops-assets report -->")
    assert "- reason 3: " in body and "… and 50 more" not in body
    assert body.rstrip().endswith("the rest of the text.</sub>")


@pytest.mark.parametrize("limit", [2_000, 10_000, GITHUB_BODY_LIMIT])
def test_the_limit_holds_for_any_size(limit):
    history = {"loss": list(range(1, 5000)), "val_loss": list(range(1, 5000))}
    body = render_comment(report(history=history, params={"p": "v" * 50_000}), limit=limit)

    assert github_length(body) <= limit
