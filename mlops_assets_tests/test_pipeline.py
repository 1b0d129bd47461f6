"""The whole graph, in process, on the real sample data."""

import base64
import json
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from mlops_assets.report.markdown import MAX_EMBEDDED_BYTES, with_embedded_plots
from mlops_assets_tests.conftest import SAMPLE_CSV, run_config

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout


def test_graph_materialises_every_asset_and_promotes_a_complete_run(workspace):
    result = workspace.materialize()

    assert result.success
    latest = workspace.latest
    assert latest.is_symlink()
    assert {p.name for p in latest.iterdir()} >= {
        "model.keras",
        "metrics.json",
        "report.md",
        "plots",
    }
    # One vocabulary of metric names: metrics.json, MLflow, the UI, the report and the comment.
    metrics = json.loads((latest / "metrics.json").read_text())
    names = {"test_mae", "test_rmse", "test_r2"}
    assert set(metrics) == names
    run_id = result.output_for_node("metrics_report").mlflow_run_id
    logged = MlflowClient(workspace.tracking_uri).get_run(run_id).data.metrics
    assert names <= set(logged) and not {"mae", "rmse", "r2"} & set(logged)
    trained_in = result.output_for_node("trained_model").mlflow_run_id
    curves = MlflowClient(workspace.tracking_uri).get_run(trained_in).data.metrics
    assert {"train_loss", "train_mae", "val_loss", "val_mae"} <= set(curves)
    assert not {"loss", "mae"} & set(curves)
    ui = result.asset_materializations_for_node("metrics_report")[0].metadata
    assert names <= set(ui) and not {"mae", "rmse", "r2"} & set(ui)
    report = (latest / "report.md").read_text()
    assert all(f"| {name} |" in report for name in names)
    # The UI shows the same report with its plots inlined: it cannot read the run directory.
    shown = result.asset_materializations_for_node("metrics_report")[0].metadata["report"].value
    for plot in ("learning_curve", "predicted_vs_actual", "residuals"):
        png = (latest / "plots" / f"{plot}.png").read_bytes()
        assert 1000 < len(png) <= MAX_EMBEDDED_BYTES
        assert f"(plots/{plot}.png)" in report
        assert f"![{plot}](data:image/png;base64,{base64.b64encode(png).decode()})" in shown
    assert "(plots/" not in shown
    comment = (workspace.artifacts / "pr_comment.md").read_text()
    assert comment.startswith("<!-- mlops-assets report -->")
    assert result.asset_materializations_for_node("pr_comment")[0].metadata["posted_to"].value == (
        "local file"
    )


def test_a_hair_of_learning_rate_is_one_changed_row_within_noise_and_a_bad_model_is_refused(
    workspace, monkeypatch
):
    """Both sides come from real runs: the baseline's params and metrics as MLflow returns them,
    this run's as the assets carry them."""
    monkeypatch.setenv("GITHUB_HEAD_REF", "main")  # the branch both runs are tagged with
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)  # compared against main
    first = workspace.materialize().output_for_node("metrics_report")
    second = workspace.materialize(config=run_config(train={"learning_rate": 0.021}))

    report = second.output_for_node("metrics_report")
    assert report.baseline.run_id == first.mlflow_run_id
    comment = (workspace.artifacts / "pr_comment.md").read_text()
    changed = comment.split("### What changed in the inputs")[1].split("\n### ")[0]
    rows = [line for line in changed.splitlines() if line.startswith("| ")]
    assert rows == [
        "| parameter | baseline | this commit |",
        "| train.learning_rate | `0.02` | `0.021` |",
    ]
    assert "- data: unchanged" in changed
    everything = comment.split("<summary>All parameters</summary>")[1]
    assert "| train.epochs | `3` |" in everything and "| data.seed | `42` |" in everything
    assert report.gate_passed and report.baseline.metrics["test_mae"] in report.interval
    assert "⚪ within noise" in comment.split("### Metrics")[0]
    held_out = len(first.metrics) and report.paired.rows
    assert held_out == 89 and 0 in report.paired.difference  # both models, the same 89 rows
    assert f"Compared paired, both models on the same {held_out} held-out rows" in comment

    worse = {"epochs": 1, "hidden_layers": [1], "learning_rate": 0.0001}
    refused = workspace.materialize(config=run_config(train=worse), raise_on_error=False)
    bad = refused.output_for_node("metrics_report")
    assert not bad.gate_passed
    [reason] = [r for r in bad.gate_reasons if "vs baseline" in r]
    assert "allowed with tolerance 5%" in reason
    assert f"paired difference on the same rows: {bad.paired.difference}" in reason
    assert reason.endswith("beyond the tolerance and beyond noise")


def test_raw_data_records_the_file_hash_as_data_version(workspace):
    import hashlib

    result = workspace.materialize(selection=["raw_data"])

    [materialization] = result.asset_materializations_for_node("raw_data")
    expected = hashlib.md5(SAMPLE_CSV.read_bytes()).hexdigest()
    assert materialization.tags["dagster/data_version"] == expected
    assert materialization.metadata["dagster/row_count"].value == 442


def test_a_single_asset_can_be_rematerialised_from_stored_upstream_outputs(workspace):
    first = workspace.materialize()
    first_dir = workspace.latest.resolve()

    again = workspace.materialize(selection=["metrics_report"])

    assert again.success
    second_dir = workspace.latest.resolve()
    assert second_dir != first_dir
    assert (second_dir / "model.keras").read_bytes() == (first_dir / "model.keras").read_bytes()
    assert first.run_id in str(first_dir)


def test_binary_classification_on_breast_cancer_reaches_auc_097(workspace, breast_cancer_csv):
    config = run_config(
        data={"path": str(breast_cancer_csv), "task": "binary_classification"},
        train={"epochs": 60, "hidden_layers": [16], "early_stopping_patience": 10},
    )
    result = workspace.materialize(config=config)

    report = result.output_for_node("metrics_report")
    names = {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert set(report.metrics) == {f"test_{name}" for name in names}
    assert report.metrics["test_roc_auc"] >= 0.97
    assert {p.name for p in (workspace.latest / "plots").iterdir()} == {
        "learning_curve.png",
        "roc_curve.png",
        "confusion_matrix.png",
    }


def test_training_is_deterministic_for_the_same_inputs(workspace, tmp_path):
    from mlops_assets_tests.conftest import Workspace

    first = workspace.materialize().output_for_node("metrics_report").metrics
    second = Workspace(tmp_path / "again").materialize().output_for_node("metrics_report").metrics

    assert {k: f"{v:.4g}" for k, v in first.items()} == {k: f"{v:.4g}" for k, v in second.items()}


def test_loading_the_code_location_imports_no_heavy_library():
    code = (
        "import sys, mlops_assets; "
        "assert mlops_assets.code_location.get_job_def('retrain'); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'pandas', 'sklearn') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_pr_that_appends_a_small_batch_with_a_unit_change_gets_a_data_section_naming_it(
    workspace, monkeypatch, tmp_path
):
    """40 copied rows with ``bmi`` + 8 (about 1.8 SD) among 442: a whole-file test dilutes them,
    the test of the added rows alone does not."""
    import pandas as pd

    from mlops_assets_tests.support.git_repo import project_repository

    repo = project_repository(tmp_path / "project")
    repo.git("checkout", "--quiet", "-b", "more-data")
    csv = repo.path / "data" / "diabetes.csv"
    frame = pd.read_csv(csv)
    added = frame.sample(40, random_state=0).assign(bmi=lambda f: f["bmi"] + 8)
    pd.concat([frame, added]).to_csv(csv, index=False)
    repo.commit({}, "more patients, heavier ones")
    repo.git("add", "data/diabetes.csv")
    repo.git("commit", "--quiet", "-m", "the data")
    monkeypatch.setenv("MLOPS_ASSETS_PROJECT_DIR", str(repo.path))
    monkeypatch.setenv("GITHUB_HEAD_REF", "more-data")
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)

    workspace.materialize(raise_on_error=False)  # the gate may refuse it: the comment is written

    comment = (workspace.artifacts / "pr_comment.md").read_text()
    section = comment.split("### What changed in the data")[1].split("\n### ")[0]
    flagged = section.split("<details>")[0]
    assert "**+40 rows**" in section
    assert "`bmi`" in flagged
    assert "`age`" not in flagged  # unshifted columns are collapsed


def test_gate_seeds_trains_more_seeds_and_the_comment_states_mean_and_spread(workspace):
    config = run_config()
    config["ops"]["metrics_report"] = {"config": {"seeds": 3}}

    report = workspace.materialize(config=config).output_for_node("metrics_report")

    spread = report.seeds
    assert spread.seeds == [42, 43, 44]
    assert spread.values[0] == report.metrics["test_mae"]  # the kept model is the first seed's
    assert len(set(spread.values)) == 3 and spread.spread > 0
    comment = (workspace.artifacts / "pr_comment.md").read_text()
    status = comment.split("### Metrics")[0]
    assert (
        f"mean {spread.mean:.4g}, standard deviation {spread.spread:.2g} across 3 seeds" in status
    )


def test_an_oversized_or_missing_plot_stays_a_path(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "small.png").write_bytes(b"\x89PNG" + b"0" * 100)
    (tmp_path / "plots" / "big.png").write_bytes(b"\x89PNG" + b"0" * 200)
    markdown = "![small](plots/small.png)\n![big](plots/big.png)\n![gone](plots/gone.png)\n"

    shown = with_embedded_plots(markdown, tmp_path, limit=150)

    small = base64.b64encode((tmp_path / "plots" / "small.png").read_bytes()).decode()
    assert shown == (
        f"![small](data:image/png;base64,{small})\n![big](plots/big.png)\n![gone](plots/gone.png)\n"
    )
    assert with_embedded_plots(shown, tmp_path, limit=150) == shown  # inlined once
