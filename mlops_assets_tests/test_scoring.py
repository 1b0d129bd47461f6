"""Batch scoring as users drive it: ``mlops-assets predict`` after a real run (the champion of a
committed project on main, ``latest`` where no run promoted one, a registered version), and the
Dagster ``score`` job through ``dagster job execute``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlops_assets.scoring.batch import add_predictions, model_task, output_columns
from mlops_assets.scoring.command import default_out
from mlops_assets_tests.support.cli_project import REPO, CliProject
from mlops_assets_tests.support.datasets import heart_frame
from mlops_assets_tests.support.git_repo import GitRepo
from mlops_assets_tests.support.params import FAST

PIPELINE = pytest.mark.pipeline  # the CLI tests score after a real run


def predict(project: CliProject, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``mlops-assets predict *args`` in the project directory, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "mlops_assets", "predict", *args],
        cwd=project.root,
        env={**project.environment(), "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def trained(project: CliProject) -> CliProject:
    done = project.run()
    assert done.returncode == 0, done.output[-3000:]
    return project


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory) -> CliProject:
    """The sample, committed on main and run clean: its model is the champion, v1."""
    project = CliProject(tmp_path_factory.mktemp("diabetes"), train=FAST)
    repo = GitRepo(project.root)
    repo.git("add", "params.yaml", "data")
    repo.git("commit", "--quiet", "-m", "the project")
    done = project.run()
    assert done.returncode == 0, done.output[-3000:]
    assert "v1 is the champion" in done.output, done.output[-3000:]
    return project


@pytest.fixture(scope="module")
def heart(tmp_path_factory) -> CliProject:
    """A binary classifier with string categoricals, gaps and string labels; not a git
    checkout, so no champion: ``latest`` scores."""
    project = CliProject(tmp_path_factory.mktemp("heart"), train={**FAST, "epochs": 8})
    frame = heart_frame(rows=400)
    frame["HeartDisease"] = frame["HeartDisease"].map({0: "Normal", 1: "Disease"})
    frame.to_csv(project.root / "data" / "heart.csv", index=False)
    project.set_params(
        "data",
        path="data/heart.csv",
        target="HeartDisease",
        task="binary_classification",
        positive_class="Disease",
    )
    return trained(project)


def test_a_binary_classifiers_output_is_the_last_labels_probability():
    chunk = pd.DataFrame({"x": ["a", "b", "c"]})
    scores = np.array([0.2, 0.5, 0.9])

    scored = add_predictions(chunk, scores, "binary_classification", ["No", "Yes"])

    assert scored["prediction"].tolist() == ["No", "Yes", "Yes"]
    np.testing.assert_allclose(scored["probability_Yes"], scores)
    np.testing.assert_allclose(scored["probability_No"], 1 - scores)
    assert output_columns("binary_classification", ["No", "Yes"]) == [
        "prediction",
        "probability_No",
        "probability_Yes",
    ]


def test_multiclass_rows_get_the_argmax_label_and_regression_only_the_value():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    scored = add_predictions(
        pd.DataFrame({"x": [1, 2]}), scores, "multiclass_classification", [3, 5, 7]
    )
    assert scored["prediction"].tolist() == [5, 3]
    assert list(scored.columns) == [
        "x",
        "prediction",
        "probability_3",
        "probability_5",
        "probability_7",
    ]
    value = add_predictions(pd.DataFrame({"x": [1]}), np.array([42.5]), "regression", None)
    assert list(value.columns) == ["x", "prediction"] and value["prediction"][0] == 42.5


def test_the_task_comes_from_the_models_name_else_its_labels():
    class Named:
        name = "mlops_assets_multiclass_classification"

    class Unnamed:
        name = "my_model"

    assert model_task(Named(), None) == "multiclass_classification"
    assert model_task(Unnamed(), ["a", "b"]) == "binary_classification"
    assert model_task(Unnamed(), None) == "regression"
    assert default_out(Path("data/new.csv")) == Path("data/new.predictions.csv")


def new_rows(project: CliProject, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """The sample's rows as new data: no target, an ID and a free-text note besides."""
    frame = pd.read_csv(project.root / "data" / "diabetes.csv").drop(columns=["target"])
    frame.insert(0, "patient_id", [f"P{i:04d}" for i in range(len(frame))])
    frame["note"] = ["seen twice, ok" if i % 3 else "" for i in range(len(frame))]
    return frame.drop(columns=list(drop))


@PIPELINE
def test_predict_scores_every_row_with_the_champion_and_passes_other_columns_through(diabetes):
    from mlops_assets.modeling.keras_model import load_model
    from mlops_assets.modeling.keras_model import predict as keras_predict

    rows = new_rows(diabetes)
    rows.to_csv(diabetes.root / "new.csv", index=False)

    done = predict(diabetes, "new.csv")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "scoring new.csv with the champion, v1 of 'mlops-assets'" in done.stderr
    assert "wrote 442 rows with prediction to new.predictions.csv" in done.stderr
    scored = pd.read_csv(diabetes.root / "new.predictions.csv", dtype={"note": str})
    assert len(scored) == len(rows) == 442
    assert list(scored.columns) == [*rows.columns, "prediction"]
    assert scored["patient_id"].tolist() == rows["patient_id"].tolist()
    assert scored["note"].fillna("").tolist() == rows["note"].tolist()
    model = load_model(diabetes.artifacts / "latest" / "model.keras")
    expected = keras_predict(model, rows)
    np.testing.assert_allclose(scored["prediction"], expected, rtol=1e-5)
    assert scored["prediction"].std() > 0  # a model, not a constant


@PIPELINE
def test_chunks_show_progress_and_give_the_same_file_as_one_pass(diabetes):
    new_rows(diabetes).to_csv(diabetes.root / "chunked.csv", index=False)

    chunked = predict(diabetes, "chunked.csv", "--model", "latest", "--chunk-rows", "100")
    whole = predict(diabetes, "chunked.csv", "--model", "v1", "--out", "-")

    assert chunked.returncode == 0, chunked.stderr[-3000:]
    assert whole.returncode == 0, whole.stderr[-3000:]
    assert "with the latest run's model" in chunked.stderr
    progress = [line for line in chunked.stderr.splitlines() if line.startswith("scored ")]
    assert [line.split(" rows")[0] for line in progress] == [
        "scored 100",
        "scored 200",
        "scored 300",
        "scored 400",
        "scored 442",
    ]
    assert "scoring chunked.csv with v1 of 'mlops-assets'" in whole.stderr
    assert not any(line.startswith("scored ") for line in whole.stderr.splitlines())
    written = (diabetes.root / "chunked.predictions.csv").read_text()
    assert written == whole.stdout
    assert len(written.splitlines()) == 443


@PIPELINE
def test_a_missing_column_is_named_in_one_line_and_nothing_is_written(diabetes):
    new_rows(diabetes, drop=("bmi",)).to_csv(diabetes.root / "no_bmi.csv", index=False)

    done = predict(diabetes, "no_bmi.csv", "--out", "scored.csv")

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "mlops-assets: no_bmi.csv: no column 'bmi', which the model needs"
    )
    assert "Traceback" not in done.stderr
    assert not (diabetes.root / "scored.csv").exists()
    assert not list(diabetes.root.glob("*.partial*"))


@PIPELINE
def test_a_bad_cell_or_an_unknown_version_is_named_and_nothing_is_written(diabetes):
    rows = new_rows(diabetes).astype(object)
    rows.loc[300, "bmi"] = "thirty"
    rows.to_csv(diabetes.root / "bad_cell.csv", index=False)

    bad = predict(diabetes, "bad_cell.csv", "--chunk-rows", "100")
    unknown = predict(diabetes, "bad_cell.csv", "--model", "9")

    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        "mlops-assets: bad_cell.csv: column 'bmi', line 302: 'thirty' is not a number "
        "(a missing-value marker? list it in data.na_values)"
    )
    assert not (diabetes.root / "bad_cell.predictions.csv").exists()
    assert not list(diabetes.root.glob(".bad_cell*"))
    assert unknown.returncode == 2
    assert "--model 9: 'mlops-assets' has no version 9" in unknown.stderr
    assert "(versions: v1)" in unknown.stderr


@PIPELINE
def test_a_classifier_writes_labels_and_class_probabilities(heart):
    frame = heart_frame(rows=60, seed=7).drop(columns=["HeartDisease"])
    frame.loc[0, "ChestPainType"] = "NEVER-SEEN"  # the out-of-vocabulary bucket
    frame.loc[1, "Sex"] = None  # a gap in a string column
    frame["clinic"] = "north"
    frame.to_csv(heart.root / "patients.csv", index=False)

    done = predict(heart, "patients.csv")
    asked = predict(heart, "patients.csv", "--model", "champion", "--out", "champion.csv")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "the latest run's model" in done.stderr and "has no champion" in done.stderr
    assert asked.returncode == 2  # asked for by name: no fallback
    assert "'mlops-assets' has no champion in the local MLflow store" in asked.stderr
    assert not (heart.root / "champion.csv").exists()
    labels = json.loads((heart.artifacts / "latest" / "labels.json").read_text())
    assert labels == ["Normal", "Disease"]
    scored = pd.read_csv(heart.root / "patients.predictions.csv")
    assert len(scored) == 60
    assert list(scored.columns) == [
        *frame.columns,
        "prediction",
        "probability_Normal",
        "probability_Disease",
    ]
    assert (scored["clinic"] == "north").all()
    probabilities = scored[["probability_Normal", "probability_Disease"]].to_numpy()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    expected = np.where(probabilities[:, 1] >= 0.5, "Disease", "Normal")
    assert scored["prediction"].tolist() == expected.tolist()
    assert scored["probability_Disease"].std() > 0


@PIPELINE
def test_a_version_whose_run_directory_is_gone_comes_from_the_registry(heart, tmp_path):
    # Not a git checkout: the run registered its model as v1, a candidate.
    heart_frame(rows=40, seed=9).to_csv(heart.root / "later.csv", index=False)
    local = predict(heart, "later.csv", "--model", "latest", "--out", "local.csv")
    pruned = tmp_path / "no_runs_here"  # as if every run directory had been pruned

    done = predict(
        heart,
        "later.csv",
        "--model",
        "v1",
        "--out",
        "v1.csv",
        MLOPS_ASSETS_ARTIFACTS_DIR=str(pruned),
    )

    assert local.returncode == 0, local.stderr[-3000:]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scoring later.csv with v1 of 'mlops-assets'" in done.stderr
    assert not pruned.exists()
    downloaded = pd.read_csv(heart.root / "v1.csv")
    assert list(downloaded.columns)[-3:] == [
        "prediction",
        "probability_Normal",
        "probability_Disease",
    ]  # labels.json from the version's report run
    pd.testing.assert_frame_equal(downloaded, pd.read_csv(heart.root / "local.csv"))


@PIPELINE
def test_the_score_job_runs_through_the_dagster_cli_and_writes_the_file(heart):
    frame = heart_frame(rows=50, seed=8).drop(columns=["HeartDisease"])
    frame.to_csv(heart.root / "batch.csv", index=False)
    config = heart.root / "score.yaml"
    job = {"csv": "batch.csv", "model": "latest", "out": "out/batch_scored.csv"}
    config.write_text(yaml.safe_dump({"ops": {"score_csv": {"config": job}}}))

    command = ["job", "execute", "-m", "mlops_assets", "-j", "score", "-c", str(config)]
    done = subprocess.run(
        [sys.executable, "-m", "dagster", *command],
        cwd=REPO,
        env=heart.environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    output = done.stdout + done.stderr
    assert "RUN_SUCCESS" in output
    assert "wrote 50 rows with prediction, probability_Normal, probability_Disease" in output
    scored = pd.read_csv(heart.root / "out" / "batch_scored.csv")
    assert len(scored) == 50
    assert set(scored["prediction"]) <= {"Normal", "Disease"}
