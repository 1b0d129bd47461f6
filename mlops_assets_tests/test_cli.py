"""The graph as users launch it: ``mlops-assets run`` and the Dagster CLI in a fresh process, and
the lineage the UI shows."""

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from mlops_assets.definitions import defs
from mlops_assets_tests.conftest import FAST_TRAIN

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
TINY = json.dumps({"ops": {"trained_model": {"config": FAST_TRAIN}}})


def cli_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir(exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        # Run from tmp_path, outside the checkout: the project is named.
        "MLOPS_ASSETS_PROJECT_DIR": str(REPO),
        "MLOPS_ASSETS_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLOPS_ASSETS_COMMENT_ON": "local",  # never post from tests, whatever CI sets
    }


def materialize(tmp_path: Path, selection: str, config: str | None = None, **env: str):
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", "mlops_assets"]
    command += ["--select", selection] + (["--config-json", config] if config else [])
    return subprocess.run(
        command,
        env={**cli_env(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_lineage_is_data_to_features_to_model_to_report_to_comment():
    graph = defs.resolve_asset_graph()
    chain = ["raw_data", "features", "trained_model", "metrics_report", "pr_comment"]
    for upstream, downstream in itertools.pairwise(chain):
        assert AssetKey(upstream) in graph.get(AssetKey(downstream)).parent_keys


def test_cli_materialises_everything_then_a_single_asset_from_stored_outputs(tmp_path):
    full = materialize(tmp_path, "*", TINY)
    assert full.returncode == 0, full.stderr[-3000:]
    latest = tmp_path / "artifacts" / "latest"
    first_target = latest.resolve()
    assert (latest / "metrics.json").exists()

    single = materialize(tmp_path, "metrics_report", MLOPS_ASSETS_FORCE="1")  # else: reused
    assert single.returncode == 0, single.stderr[-3000:]
    assert "RUN_SUCCESS" in single.stderr
    assert latest.resolve() != first_target
    assert (latest / "model.keras").exists()


def test_cli_exits_non_zero_and_names_the_file_when_the_data_is_missing(tmp_path):
    config = json.dumps({"ops": {"raw_data": {"config": {"path": "data/nope.csv"}}}})
    result = materialize(tmp_path, "raw_data", config)
    assert result.returncode != 0
    assert "data/nope.csv: data file not found" in result.stderr + result.stdout


def mlops_assets_run(tmp_path: Path, *args: str, cwd: Path | None = None, **env: str):
    """``python -m mlops_assets run`` as make run and the workflows call it."""
    return subprocess.run(
        [sys.executable, "-m", "mlops_assets", "run", *args],
        env={**cli_env(tmp_path), **env},
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


NOISE = re.compile(
    r"DEBUG|Warning|warnings\.warn|absl|cuda|cpu_feature_guard|oneDNN|node_def_util|Telemetry"
    r"|Downloading artifacts"
)


def test_a_run_prints_a_short_log_and_ends_on_the_metric_the_gate_and_the_files(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".telemetry").mkdir()  # an instance that has shown Dagster's banner
    (tmp_path / "home" / ".telemetry" / "id.yaml").write_text("instance_id: test\n")
    done = mlops_assets_run(tmp_path, "--config-json", TINY)

    assert done.returncode == 0, done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) <= 60, "\n".join(lines)
    assert [line for line in lines if NOISE.search(line)] == []
    for asset in ("raw_data", "features", "trained_model", "metrics_report", "pr_comment"):
        assert any(f" {asset}: " in line for line in lines), asset
    assert any("trained_model: epoch 3/3: " in line for line in lines)
    mae = json.loads((tmp_path / "artifacts" / "latest" / "metrics.json").read_text())["test_mae"]
    summary = done.stdout.strip().splitlines()
    assert summary[0].startswith(f"test_mae {mae:.4g} (95% interval ")
    assert summary[0].endswith(") · no baseline yet · quality gate passed")
    assert "model    artifacts/latest/model.keras" in summary
    # v1 of the registered model: the champion from a clean checkout, else a candidate.
    [registry] = [line for line in summary if line.startswith("registry ")]
    assert "v1 of `mlops-assets`" in registry or "v1 is the champion of `mlops-assets`" in registry
    assert "report   artifacts/latest/report.md" in summary
    assert "comment  artifacts/pr_comment.md" in summary
    assert (tmp_path / "home" / "dagster.yaml").exists()  # made on first use


def test_a_refused_model_fails_the_run_and_the_summary_says_why(tmp_path):
    assert mlops_assets_run(tmp_path, "--config-json", TINY).returncode == 0
    worse = {"epochs": 1, "hidden_layers": [1], "learning_rate": 0.0001}
    config = json.dumps({"ops": {"trained_model": {"config": {**FAST_TRAIN, **worse}}}})
    done = mlops_assets_run(tmp_path, "--config-json", config)

    assert done.returncode == 1
    # This run has a tracked baseline: reading its predictions back prints no progress bars.
    assert [line for line in done.stderr.splitlines() if NOISE.search(line)] == []
    summary = done.stdout.strip().splitlines()
    assert "quality gate FAILED" in summary[0]
    assert any("regressed beyond the tolerance" in line for line in summary)
    assert any(line.startswith("artifacts/latest left as it was") for line in summary)
    assert "registry Would not be promoted: the quality gate refused the model." in summary


def test_verbose_brings_back_dagsters_event_log(tmp_path):
    config = json.dumps({"ops": {"raw_data": {"config": {"path": "data/nope.csv"}}}})
    done = mlops_assets_run(tmp_path, "--config-json", config, MLOPS_ASSETS_VERBOSE="1")

    assert done.returncode == 1
    assert "DEBUG" in done.stderr and "RUN_FAILURE" in done.stderr
    assert "data/nope.csv: data file not found" in done.stderr
    assert "failed before the report" in done.stdout
