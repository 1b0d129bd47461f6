"""The graph as users launch it: the Dagster CLI in a fresh process, and the lineage the UI shows."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from mlops_assets import defs
from mlops_assets_tests.conftest import FAST_TRAIN

BIN = Path(sys.executable).parent
TINY = json.dumps({"ops": {"trained_model": {"config": FAST_TRAIN}}})


def cli_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir(exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
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
