"""Skip unchanged work: through the CLI with a persistent DAGSTER_HOME, and in process for a
change to the report code alone."""

import json

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from mlops_assets import run_tags
from mlops_assets.defs.assets.metrics_report import metrics_report
from mlops_assets.defs.checks import ALL_CHECKS
from mlops_assets.fingerprints import fingerprint, parts, what_changed
from mlops_assets.report.markdown import with_reuse_note
from mlops_assets_tests.conftest import ALL_ASSETS, FAST_TRAIN, run_config
from mlops_assets_tests.support.cli_project import CliProject

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

ASSETS = ["raw_data", "features", "trained_model", "metrics_report"]


def latest_metadata(instance: DagsterInstance, asset: str) -> dict:
    event = instance.get_latest_materialization_event(AssetKey(asset))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def reused(instance: DagsterInstance) -> dict[str, bool]:
    return {asset: latest_metadata(instance, asset)["reused"] for asset in ASSETS}


def test_fingerprint_changes_with_code_inputs_and_params_only():
    base = parts("1", {"features": "abc"}, {"train.epochs": 3, "train.layers": [8]})
    same = parts("1", {"features": "abc"}, {"train.layers": [8], "train.epochs": 3})

    assert fingerprint(base) == fingerprint(same)
    assert what_changed(base, same) == []
    for changed, said in [
        (parts("2", {"features": "abc"}, base["params"]), "code (version 1 → 2)"),
        (parts("1", {"features": "abd"}, base["params"]), "upstream features"),
        (
            parts("1", {"features": "abc"}, {**base["params"], "train.epochs": 4}),
            "train.epochs (`3` → `4`)",
        ),
    ]:
        assert fingerprint(changed) != fingerprint(base)
        assert what_changed(base, changed) == [said]
    data = parts("1", {"data_hash": "a" * 32}, {}), parts("1", {"data_hash": "b" * 32}, {})
    assert what_changed(*data) == [f"data (`{'a' * 12}` → `{'b' * 12}`)"]


def test_reuse_note_goes_under_the_title_once():
    noted = with_reuse_note("# Model report\n\n**mae = 40**\n", "run-1", "Model reused")

    assert noted.startswith("# Model report\n\n> ♻️ Model reused from run `run-1`")
    assert noted.endswith("\n\n**mae = 40**\n")
    assert with_reuse_note(noted, "run-1", "Model reused") == noted


@pytest.fixture
def cli_project(tmp_path):
    return CliProject(tmp_path / "project", train=FAST_TRAIN)


def test_cli_rerun_restores_unchanged_outputs_and_retrains_when_params_change(cli_project):
    first = cli_project.materialize()
    assert "epoch 1/" in first.output  # trained
    instance = cli_project.instance()
    [first_run] = [r.run_id for r in instance.get_runs()]
    model_dir = cli_project.artifacts / "latest"
    assert model_dir.resolve().name == first_run
    assert reused(instance) == dict.fromkeys(ASSETS, False)

    second = cli_project.materialize()

    assert reused(instance) == dict.fromkeys(ASSETS, True)
    assert {latest_metadata(instance, a)["reused_from_run"] for a in ASSETS} == {first_run}
    assert "reusing the output of run" in second.output
    assert "epoch 1/" not in second.output  # nothing trained
    assert model_dir.resolve().name == first_run
    second_run = instance.get_runs(limit=1)[0].run_id
    assert not (cli_project.artifacts / "runs" / second_run).exists()
    report = latest_metadata(instance, "metrics_report")["report"]
    assert f"reused from run `{first_run}`" in report

    cli_project.set_params("train", epochs=FAST_TRAIN["epochs"] + 1)
    cli_project.materialize()

    assert reused(instance) == {
        "raw_data": True,
        "features": True,
        "trained_model": False,
        "metrics_report": False,
    }
    third_run = instance.get_runs(limit=1)[0].run_id
    assert model_dir.resolve().name == third_run
    # The report says what was recomputed and why, in params.yaml's names.
    comment = (cli_project.artifacts / "pr_comment.md").read_text()
    epochs = f"train.epochs (`{FAST_TRAIN['epochs']}` → `{FAST_TRAIN['epochs'] + 1}`)"
    assert f"| trained_model | **recomputed** | changed: {epochs} |" in comment
    assert (
        f"| features | reused | inputs, parameters and code unchanged since run {first_run[:8]} |"
        in comment
    )
    assert "| metrics_report | **recomputed** | changed: upstream trained_model |" in comment
    assert latest_metadata(instance, "trained_model")["epochs_run"] == FAST_TRAIN["epochs"] + 1

    untrained = {"ops": {"trained_model": {"config": {"epochs": 1, "learning_rate": 1e-6}}}}
    refused = cli_project.materialize("--config-json", json.dumps(untrained), check=False)

    assert refused.returncode != 0
    assert "model_gate" in refused.output
    assert model_dir.resolve().name == third_run  # the refused model was not promoted


def test_changing_only_the_report_code_reevaluates_without_retraining(workspace, tmp_path):
    (tmp_path / "home").mkdir()
    instance = DagsterInstance.local_temp(str(tmp_path / "home"))
    version = metrics_report.code_versions_by_key[metrics_report.key]
    bumped = str(int(version) + 1)
    report_v2 = metrics_report.map_asset_specs(
        lambda spec: spec.replace_attributes(code_version=bumped)
    )
    assets = [a for a in ALL_ASSETS if a.key != metrics_report.key]

    first = materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        resources=workspace.resources,
        run_config=run_config(),
        instance=instance,
    )
    second = materialize(
        [*assets, report_v2, *ALL_CHECKS],
        resources=workspace.resources,
        run_config=run_config(),
        instance=instance,
    )

    assert first.success and second.success
    assert reused(instance) == {
        "raw_data": True,
        "features": True,
        "trained_model": True,
        "metrics_report": False,
    }
    assert workspace.latest.resolve().name == second.run_id
    report = second.output_for_node("metrics_report")
    assert f"Model reused from run `{first.run_id}`" in report.markdown
    assert report.reused_from_run == first.run_id
    assert [(d.asset, d.action, d.why) for d in report.decisions][-2:] == [
        (
            "trained_model",
            "reused",
            f"inputs, parameters and code unchanged since run {first.run_id[:8]}",
        ),
        ("metrics_report", "recomputed", f"changed: code (version {version} → {bumped})"),
    ]
    model = (workspace.latest / "model.keras").read_bytes()
    assert model == (workspace.artifacts / "runs" / first.run_id / "model.keras").read_bytes()

    forced = materialize(
        ALL_ASSETS,
        selection=["raw_data"],
        resources=workspace.resources,
        run_config={"ops": {"raw_data": {"config": {}}}},
        instance=instance,
        tags={run_tags.FORCE: "true"},
    )
    assert forced.success and latest_metadata(instance, "raw_data")["reused"] is False
