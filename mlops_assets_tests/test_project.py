"""The project is found from the working directory, as git and DVC find their roots, and a
user's mistake ends ``mlops-assets run`` with one line naming the file and key (exit 2)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_assets.settings import PROJECT_DIR, ProjectNotFound, project_dir

REPO = Path(__file__).resolve().parents[1]


def test_the_nearest_ancestor_holding_params_yaml_is_the_project(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    nested = tmp_path / "data" / "deeper"
    nested.mkdir(parents=True)
    assert project_dir({}, cwd=nested) == tmp_path.resolve()
    assert project_dir({}, cwd=tmp_path) == tmp_path.resolve()


def test_the_variable_wins_over_the_working_directory(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert project_dir({PROJECT_DIR: str(elsewhere)}, cwd=tmp_path) == elsewhere.resolve()


def test_outside_any_project_the_error_names_params_yaml(tmp_path):
    if any((parent / "params.yaml").exists() for parent in tmp_path.parents):
        pytest.skip("a params.yaml above the temporary directory")
    with pytest.raises(ProjectNotFound, match=r"no params\.yaml in .*docs/configuration\.md"):
        project_dir({}, cwd=tmp_path)


def run(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m mlops_assets run`` from ``cwd``, the project found from there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_ASSETS_", "MLFLOW_"))}
    env |= {"DAGSTER_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "mlops_assets", "run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_run_outside_any_project_says_so_in_one_line(tmp_path):
    if any((parent / "params.yaml").exists() for parent in tmp_path.parents):
        pytest.skip("a params.yaml above the temporary directory")
    done = run(tmp_path, tmp_path / "home")
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("mlops-assets: no params.yaml in ")
    assert done.stdout == ""


def test_a_params_yaml_typo_is_one_line_and_verbose_adds_the_traceback(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO / "data", project / "data")
    text = (REPO / "params.yaml").read_text()
    assert "  learning_rate:" in text
    (project / "params.yaml").write_text(text.replace("  learning_rate:", "  learnin_rate:"))

    done = run(project / "data", tmp_path / "home")  # a subdirectory of the project
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"mlops-assets: {project / 'params.yaml'}: ")
    assert "unknown key 'train.learnin_rate'" in line

    verbose = run(project, tmp_path / "home", "--verbose")
    assert verbose.returncode == 2
    assert "Traceback (most recent call last)" in verbose.stderr
    assert verbose.stderr.splitlines()[-1] == line
