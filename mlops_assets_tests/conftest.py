"""Shared fixtures: every test runs the real assets against its own temporary directories."""

import os
from pathlib import Path

import pytest
from dagster import materialize

from mlops_assets.defs.assets import RETRAIN_ASSETS
from mlops_assets.defs.io_manager import RunIsolatedStorage
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.dvc import DvcData
from mlops_assets.defs.resources.github import GitHubResource
from mlops_assets.defs.resources.run_guard import RunGuard
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.git.commands import git_or_none
from mlops_assets.settings import project_dir
from mlops_assets.tracking.location import local_tracking_uri
from mlops_assets_tests.support.fake_github import fake_github  # noqa: F401  (a fixture for every test)

pytest_plugins = [
    "mlops_assets_tests.support.tracking_servers",  # real MLflow servers on loopback
    "mlops_assets_tests.support.github_actions",  # `actions`: Actions variables for fake GitHub
    "mlops_assets_tests.support.tiers",  # the pipeline and slow marks, and their time rules
]

ALL_ASSETS = RETRAIN_ASSETS


@pytest.fixture(autouse=True)
def compared_with_this_checkout(monkeypatch):
    """The checkout's own branch is the base unless a test says otherwise: on a branch other
    than main, main's committed metrics (the last-resort baseline) would judge the tests'
    few-epoch models."""
    branch = git_or_none(project_dir(), "branch", "--show-current")
    if branch and "GITHUB_BASE_REF" not in os.environ:
        monkeypatch.setenv("GITHUB_BASE_REF", branch)


SAMPLE_CSV = project_dir() / "data" / "diabetes.csv"

# Few epochs: the tests check behaviour, not model quality (except where they say so); the
# learning rate is high enough that the model still beats the naive predictor (the model gate).
FAST_TRAIN = {
    "epochs": 3,
    "hidden_layers": [8],
    "early_stopping_patience": 0,
    "learning_rate": 0.02,
}


def run_config(data: dict | None = None, split: dict | None = None, train: dict | None = None):
    ops = {
        "raw_data": {"config": data or {}},
        "features": {"config": split or {}},
        "trained_model": {"config": {**FAST_TRAIN, **(train or {})}},
    }
    return {"ops": ops}


class Workspace:
    """A temporary home for one test's artifacts, MLflow store and Dagster outputs."""

    def __init__(self, root: Path):
        self.root = root
        self.artifacts = root / "artifacts"
        self.tracking_uri = local_tracking_uri(root)
        tracking = MlflowTracking(tracking_uri=self.tracking_uri, experiment_name="tests")
        guard = RunGuard(
            artifacts_dir=str(self.artifacts), storage_dir=str(root / "storage"), tracking=tracking
        )
        self.resources = {
            "artifacts": ArtifactStore(root=str(self.artifacts)),
            "tracking": tracking,
            "run_guard": guard,
            "io_manager": RunIsolatedStorage(guard=guard),
            # Never post from a test run in CI (test_github.py posts to a fake server).
            "github": GitHubResource(comment_on="local"),
            "dvc": DvcData(),
        }

    @property
    def latest(self) -> Path:
        return self.artifacts / "latest"

    def materialize(self, assets=None, *, config=None, selection=None, raise_on_error=True):
        config = config if config is not None else run_config()
        if selection and "ops" in config:  # Dagster rejects config for assets not selected
            config = {**config, "ops": {k: v for k, v in config["ops"].items() if k in selection}}
        return materialize(
            assets or ALL_ASSETS,
            resources=self.resources,
            run_config=config,
            selection=selection,
            raise_on_error=raise_on_error,
        )


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def breast_cancer_csv(tmp_path: Path) -> Path:
    from scripts.export_datasets import export_breast_cancer

    return export_breast_cancer(tmp_path)
