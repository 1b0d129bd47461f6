"""``train.model``: your own builder from the project directory, through the CLI as a user runs
it; editing it retrains, a broken reference fails before training and leaves ``latest``."""

import textwrap

import pytest
from dagster import AssetKey

from mlops_assets_tests.conftest import FAST_TRAIN
from mlops_assets_tests.support.cli_project import CliProject

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

NO_ARGUMENTS = """
import keras

def build():
    # the article's model, exactly
    return keras.Sequential([keras.layers.Dense(1), keras.layers.Dense(1)])
"""

WITH_SPEC = """
import keras
from mlops_assets.modeling.builder import ModelSpec

def build(spec: ModelSpec):
    x = keras.layers.Dense(spec.args["units"], activation="relu")(spec.inputs)
    outputs = keras.layers.Dense(spec.output_units, activation=spec.output_activation)(x)
    return keras.Model(spec.inputs, outputs)
"""


def trained(project: CliProject) -> dict:
    event = project.instance().get_latest_materialization_event(AssetKey("trained_model"))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_own_builders_train_an_edit_retrains_and_a_broken_reference_fails_fast(tmp_path):
    project = CliProject(tmp_path / "project", train=FAST_TRAIN)
    models = project.root / "models"
    models.mkdir()
    (models / "article.py").write_text(NO_ARGUMENTS)
    (models / "mine.py").write_text(WITH_SPEC)

    project.set_params("train", model="models.article:build")
    project.materialize(what="no-argument builder")
    assert trained(project)["model"] == "models.article:build"
    assert not trained(project)["reused"]

    project.set_params("train", model="models.mine:build", model_args={"units": 4})
    project.materialize(what="spec builder")
    first = trained(project)
    assert first["model"] == "models.mine:build" and not first["reused"]
    promoted = (project.artifacts / "latest").resolve()

    project.materialize(what="unchanged rerun")
    assert trained(project)["reused"]

    (models / "mine.py").write_text(WITH_SPEC + "\n# tuned\n")
    edited = project.materialize(what="edited builder")
    assert not trained(project)["reused"] and "epoch 1/" in edited.output
    assert trained(project)["model_source_sha256"] != first["model_source_sha256"]
    comment = (project.artifacts / "pr_comment.md").read_text()
    old, new = first["model_source_sha256"][:12], trained(project)["model_source_sha256"][:12]
    assert (
        f"| trained_model | **recomputed** | changed: model code (`{old}` → `{new}`) |" in comment
    )
    promoted = (project.artifacts / "latest").resolve()

    for reference, problem in [
        ("models.nope:build", "no module 'models.nope'"),
        ("models.mine:missing", "has no 'missing'"),
    ]:
        project.set_params("train", model=reference)
        failed = project.materialize(what=reference, check=False)
        assert failed.returncode != 0
        assert f"train.model '{reference}'" in failed.output and problem in failed.output
        assert "epoch 1/" not in failed.output  # before training
        assert (project.artifacts / "latest").resolve() == promoted

    (models / "bad.py").write_text(
        textwrap.dedent("""
        import keras
        def build(spec):
            return keras.Sequential([keras.layers.Dense(3)])
        """)
    )
    project.set_params("train", model="models.bad:build")
    failed = project.materialize(what="wrong output shape", check=False)
    assert failed.returncode != 0 and "train.model 'models.bad:build'" in failed.output
    assert "regression needs (None, 1)" in failed.output
    assert (project.artifacts / "latest").resolve() == promoted
