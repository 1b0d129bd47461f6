"""The model card, rendered from the run's records (the end-to-end card is in test_lifecycle)."""

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mlops_assets.artifacts.layout import MODEL_CARD_FILE
from mlops_assets.github.publish import model_card_link
from mlops_assets.params import ModelCardParams, ParamsError, load_params
from mlops_assets.records import (
    CATEGORICAL,
    NUMERIC,
    Baseline,
    Column,
    FeatureSet,
    Interval,
    ModelVersion,
    Registration,
)
from mlops_assets.report.comment import CommentLinks, render_comment
from mlops_assets.report.model_card import (
    MAX_DESCRIPTION_CHARS,
    as_description,
    render_model_card,
)
from mlops_assets.settings import project_dir
from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.params import FAST
from mlops_assets_tests.support.reports import sample_report


def features(**overrides) -> FeatureSet:
    fields = {
        "columns": [
            Column("age", NUMERIC, "float", 0.0),
            Column("bmi", NUMERIC, "float", 0.125, missing_indicator=True),
            Column("smoker", CATEGORICAL, "string", 0.05, declared=True, categories=3),
        ],
        "target": "progression",
        "task": "regression",
        "x_train": pd.DataFrame(),
        "y_train": np.zeros(80),
        "x_test": pd.DataFrame(),
        "y_test": np.zeros(20),
        "seed": 42,
        "data_hash": "a" * 32,
        "dropped_target_rows": 3,
        "data_source": "git",
    }
    return FeatureSet(**{**fields, **overrides})


PARAMS = {
    "data.path": "data/patients.csv",
    "train.epochs": "300",
    "train.model": "models.wide:build",
    "train.learning_rate": "0.005",
}


def section(card: str, title: str) -> str:
    """The text of the card's ``## title`` section."""
    return card.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_card_holds_task_data_training_metrics_gate_and_the_stated_uses():
    report = sample_report(
        mae=41.0,
        params=PARAMS,
        interval=Interval(37.5, 44.25),
        gate_passed=False,
        gate_reasons=["mae 41 vs baseline 30: regressed beyond the tolerance"],
        baseline=Baseline(run_id="base1", metrics={"mae": 30.0}, source="the champion, v3"),
    )
    texts = {"intended_use": "Triage research only.", "limitations": "One hospital's patients."}
    card = render_model_card(report, features(), epochs_run=57, model_card=texts)

    assert card.startswith("# Model card: progression (regression)\n")
    assert "- target: `progression`" in section(card, "Task")
    data = section(card, "Data")
    assert "- path: `data/patients.csv`" in data
    assert f"- hash (MD5): `{'a' * 32}`" in data
    assert "- rows: 100 (80 training, 20 held out)" in data
    assert "- rows dropped for a missing target: 3" in data
    assert "| `bmi` | numeric (float, inferred) | 12.5% |" in data
    assert "| `smoker` | categorical (string, declared), 3 categories | 5.0% |" in data
    training = section(card, "Training")
    assert "- builder: `models.wide:build`" in training
    assert "- epochs run: 57" in training
    assert "| train.learning_rate | `0.005` |" in training
    assert "data.path" not in training
    metrics = section(card, "Held-out metrics")
    assert "**mae = 41**, 95% interval 37.5 to 44.25 over resampled held-out rows." in metrics
    assert "scores mae = 60: the model is better by 19." in metrics
    assert "| rmse | 52 | 70 | ↓ lower |" in metrics
    gate = section(card, "Quality gate")
    assert "- decision: **failed**" in gate
    assert "regressed beyond the tolerance" in gate
    assert "- baseline: run base1, the champion, v3: mae = 30" in gate
    assert section(card, "Intended use").strip() == "Triage research only."
    assert section(card, "Limitations").strip() == "One hospital's patients."


def test_a_card_without_a_baseline_or_stated_uses_says_so_and_names_the_builtin_mlp():
    report = sample_report(
        params={**PARAMS, "train.model": "None"}, baseline=None, baseline_note="first run"
    )
    card = render_model_card(report, features(), epochs_run=3)
    assert "- builder: the built-in MLP" in card
    assert "- decision: **passed**" in card
    assert "- baseline: none (first run)" in card
    assert "set `model_card.intended_use` in params.yaml" in section(card, "Intended use")
    assert "set `model_card.limitations` in params.yaml" in section(card, "Limitations")


def test_a_model_no_better_than_the_naive_predictor_is_said_to_be_so():
    report = sample_report(mae=65.0, params=PARAMS)
    card = render_model_card(report, features(), epochs_run=3)
    assert "the model is **not better** by 5." in section(card, "Held-out metrics")


def test_classification_cards_name_the_classes_and_the_majority_class_predictor():
    report = sample_report(
        task="binary_classification",
        headline="roc_auc",
        metrics={"roc_auc": 0.9, "accuracy": 0.8},
        naive={"roc_auc": 0.5, "accuracy": 0.6},
        params=PARAMS,
        baseline=None,
    )
    card = render_model_card(
        report, features(task="binary_classification", classes=["no", "yes"]), epochs_run=3
    )
    assert "- classes: `no`, `yes`" in card
    assert "- headline metric: `roc_auc` (higher is better)" in card
    assert "majority class scores roc_auc = 0.5: the model is better by 0.4." in card


def test_the_same_records_give_the_same_card():
    """No time or run-specific noise: a rerun that reuses the model writes the same card."""
    report = sample_report(params=PARAMS)
    assert render_model_card(report, features(), 5) == render_model_card(report, features(), 5)


def test_a_long_card_is_cut_at_a_line_to_fit_the_registry():
    card = "# Model card\n" + "".join(f"| `column_{i}` | numeric | 0.0% |\n" for i in range(400))
    description = as_description(card)
    assert len(description) <= MAX_DESCRIPTION_CHARS
    assert description.endswith("the whole card is model_card.md beside the model._\n")
    assert "| `column_1` |" in description and "| `column_399` |" not in description
    assert as_description("# short\n") == "# short\n"


def test_model_card_texts_are_optional_and_validated(tmp_path):
    lines = (project_dir() / "params.yaml").read_text().split("\nmodel_card:")[0]
    (tmp_path / "params.yaml").write_text(lines)
    assert load_params(tmp_path / "params.yaml").model_card == ModelCardParams()

    (tmp_path / "params.yaml").write_text(lines + "\nmodel_card:\n  intended_use: [1, 2]\n")
    with pytest.raises(ParamsError, match=r"model_card\.intended_use: Input should be a valid"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text(lines + "\nmodel_card:\n  limits: none\n")
    with pytest.raises(
        ParamsError, match=r"unknown key 'model_card\.limits' \(known: intended_use, limitations\)"
    ):
        load_params(tmp_path / "params.yaml")


def test_the_comment_links_the_versions_page_else_the_run_else_the_local_file(tmp_path):
    run_dir = tmp_path / "artifacts" / "runs" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / MODEL_CARD_FILE).write_text("# Model card\n")
    comment = tmp_path / "artifacts" / "pr_comment.md"
    report = sample_report(directory=str(run_dir), mlflow_run_url=None)
    version = ModelVersion("m", "4", "run")
    registered = Registration("m", "candidate", "why", version=version, url="http://mlflow/v4")

    assert model_card_link(report, registered, comment) == "http://mlflow/v4"
    with_run = replace(report, mlflow_run_url="http://mlflow/run")
    assert model_card_link(with_run, None, comment) == "http://mlflow/run"
    assert model_card_link(report, None, comment) == "runs/r1/model_card.md"
    assert model_card_link(report, None, None) is None  # posted: the runner's disk is no link
    assert model_card_link(replace(report, directory=str(tmp_path)), None, comment) is None
    body = render_comment(report, links=CommentLinks(model_card="runs/r1/model_card.md"))
    assert "[model card](runs/r1/model_card.md)" in body


@pytest.fixture
def cli_project(tmp_path):
    project = CliProject(tmp_path / "project", train=FAST)
    project.set_params("model_card", intended_use="Ranks patients for a follow-up call.")
    return project


def test_the_registered_versions_description_is_the_card_the_comment_links(cli_project):
    """Through the CLI on the embedded store: the card beside the model is what MLflow holds as
    the version's description, and the local comment links the file."""
    from mlflow import MlflowClient

    cli_project.materialize()
    card_path = cli_project.artifacts / "latest" / MODEL_CARD_FILE
    card = card_path.read_text()
    client = MlflowClient(cli_project.environment()["MLFLOW_TRACKING_URI"])
    [version] = client.search_model_versions("name = 'mlops-assets'")
    assert version.description == card
    assert "## Intended use\n\nRanks patients for a follow-up call." in card
    assert "- path: `data/diabetes.csv`" in card and "| `bmi` | numeric" in card
    assert "- decision: **passed**" in card

    comment_path = cli_project.artifacts / "pr_comment.md"
    [link] = re.findall(r"\[model card\]\(([^)]+)\)", comment_path.read_text())
    assert (comment_path.parent / link).resolve() == card_path.resolve()

    # A rerun that reuses everything writes the same card and leaves the description alone.
    cli_project.materialize()
    [again] = client.search_model_versions("name = 'mlops-assets'")
    assert (str(again.version), again.description, card_path.read_text()) == ("1", card, card)
