"""params.yaml and run config: defaults, overrides, and malformed values named precisely."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInvalidConfigError

from mlops_assets.defs.config import DataConfig, TrainConfig
from mlops_assets.params import ParamsError, load_params
from mlops_assets.settings import project_dir
from mlops_assets_tests.conftest import run_config


def load(tmp_path: Path, text: str):
    """The project's params.yaml with the sections in ``text`` merged over it."""
    params = yaml.safe_load((project_dir() / "params.yaml").read_text())
    try:
        edits = yaml.safe_load(text)
    except yaml.YAMLError:
        edits = None  # written as it is: the loader must name the bad YAML
    if isinstance(edits, dict):
        for section, values in edits.items():
            merge = isinstance(values, dict) and isinstance(params.get(section), dict)
            params[section] = {**params[section], **values} if merge else values
        text = yaml.safe_dump(params)
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return load_params(path)


def test_the_config_classes_default_to_the_project_params_yaml():
    on_disk = yaml.safe_load((project_dir() / "params.yaml").read_text())
    assert DataConfig().path == on_disk["data"]["path"]
    assert DataConfig().task == on_disk["data"]["task"]
    assert TrainConfig().epochs == on_disk["train"]["epochs"]
    assert TrainConfig().hidden_layers == on_disk["train"]["hidden_layers"]


def test_params_yaml_is_the_one_source_a_missing_key_is_named(tmp_path):
    assert load(tmp_path, "train:\n  epochs: 7\n").train.epochs == 7
    params = yaml.safe_load((project_dir() / "params.yaml").read_text())
    del params["train"]["batch_size"], params["gate"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(
        ParamsError, match=r"missing section 'gate'; missing key 'train\.batch_size'"
    ):
        load_params(tmp_path / "params.yaml")


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
    params = yaml.safe_load((project_dir() / "params.yaml").read_text())
    params["train"]["epochs"] = -1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "MLOPS_ASSETS_PROJECT_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import mlops_assets; mlops_assets.code_location"],  # what -m loads
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
