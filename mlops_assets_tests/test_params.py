"""params.yaml and run config: defaults, overrides, and malformed values named precisely."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInvalidConfigError

from mlops_assets.params import (
    BUILTIN_PARAMS,
    DataConfig,
    ParamsError,
    TrainConfig,
    read_params,
    validate_params,
)
from mlops_assets.project import project_dir
from mlops_assets_tests.conftest import run_config


def load(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    params = read_params(path)
    validate_params(params, path)
    return params


def test_the_config_classes_default_to_the_project_params_yaml():
    on_disk = yaml.safe_load((project_dir() / "params.yaml").read_text())
    assert DataConfig().path == on_disk["data"]["path"]
    assert DataConfig().task == on_disk["data"]["task"]
    assert TrainConfig().epochs == on_disk["train"]["epochs"]
    assert TrainConfig().hidden_layers == on_disk["train"]["hidden_layers"]


def test_missing_keys_fall_back_to_builtin_defaults(tmp_path):
    params = load(tmp_path, "train:\n  epochs: 7\n")
    assert params["train"]["epochs"] == 7
    assert params["data"] == BUILTIN_PARAMS["data"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("train:\n  epoch: 5\n", r"params\.yaml: unknown key 'train\.epoch' \(known: batch_size"),
        ("model:\n  epochs: 5\n", r"params\.yaml: unknown section 'model'"),
        (
            "train:\n  epochs: five\n",
            r"params\.yaml: train\.epochs: Input should be a valid integer",
        ),
        ("train:\n  epochs: -3\n", r"params\.yaml: train\.epochs: Input should be greater than"),
        ("data:\n  test_fraction: 1.5\n", r"params\.yaml: data\.test_fraction: .*less than 1"),
        ("data:\n  test_fraction: 0\n", r"params\.yaml: data\.test_fraction: .*greater than 0"),
        ("data:\n  task: clustering\n", r"params\.yaml: data\.task: Input should be 'regression'"),
        ("train:\n  hidden_layers: [8, 0]\n", r"train\.hidden_layers: .*at least 1 unit"),
        ("train: [1, 2]\n", r"params\.yaml: section 'train' must be a mapping"),
        ("train:\n  epochs: [\n", r"params\.yaml: not valid YAML"),
    ],
)
def test_malformed_params_name_the_file_and_key(tmp_path, text, expected):
    with pytest.raises(ParamsError, match=expected):
        load(tmp_path, text)


def test_a_malformed_params_yaml_stops_the_code_location_with_its_name(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  epochs: -1\n")
    env = {**os.environ, "MLOPS_ASSETS_PROJECT_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import mlops_assets"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode != 0
    assert f"ParamsError: {tmp_path / 'params.yaml'}: train.epochs" in result.stderr


def test_run_config_overrides_are_validated_before_any_work(workspace):
    with pytest.raises(DagsterInvalidConfigError, match="epochs"):
        workspace.materialize(config=run_config(train={"epochs": "many"}))
    assert not workspace.artifacts.exists()


def test_out_of_range_run_config_fails_without_touching_artifacts(workspace):
    result = workspace.materialize(
        config=run_config(split={"test_fraction": 1.5}), raise_on_error=False
    )
    assert not result.success
    assert "test_fraction" in str(result.get_step_failure_events()[0].event_specific_data.error)
    assert not (workspace.artifacts / "latest").exists()
