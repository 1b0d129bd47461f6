"""A sweep's trials as nested MLflow runs on real servers: the current line (basic auth) and
DagsHub's 2.x line (mlflow==2.7.1 behind a token proxy), through the tracking resource."""

import pytest

from mlops_assets.defs.resources.tracking import MlflowTracking

pytestmark = pytest.mark.pipeline


def _nest_two_trials(tracking: MlflowTracking, client, experiment: str) -> tuple[str, list]:
    """A parent run and two trials under it, the second failing; returns the parent's id and
    the children read back."""
    experiment_id = client.get_experiment_by_name(experiment)
    experiment_id = (
        experiment_id.experiment_id if experiment_id else client.create_experiment(experiment)
    )
    parent = client.create_run(experiment_id).info.run_id
    with tracking.child_run(parent, "trial-0", {"train.learning_rate": "0.01"}, {}) as child:
        with child.curves() as curves:
            for epoch in (1, 2, 3):
                curves(epoch, {"loss": 1.0 / epoch})
        child.log_metrics({"best_val_mae": 4.5})
    with pytest.raises(RuntimeError, match="trial broke"):
        with tracking.child_run(parent, "trial-1", {"train.learning_rate": "0.1"}, {}):
            raise RuntimeError("trial broke")
    children = client.search_runs(
        [experiment_id],
        f"tags.`mlflow.parentRunId` = '{parent}'",
        order_by=["params.`train.learning_rate`"],
    )
    return parent, children


def _assert_nested(client, children) -> None:
    assert [c.data.tags["mlflow.runName"] for c in children] == ["trial-0", "trial-1"]
    assert [c.info.status for c in children] == ["FINISHED", "FAILED"]
    assert [c.data.params["train.learning_rate"] for c in children] == ["0.01", "0.1"]
    assert children[0].data.metrics["best_val_mae"] == 4.5
    history = client.get_metric_history(children[0].info.run_id, "train_loss")
    assert [(m.step, round(m.value, 3)) for m in history] == [(0, 1.0), (1, 0.5), (2, 0.333)]
    assert all(c.info.end_time >= c.info.start_time for c in children)


def test_trials_nest_under_the_parent_on_an_mlflow3_server(mlflow3_server, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", mlflow3_server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", mlflow3_server.password)
    tracking = MlflowTracking(tracking_uri=mlflow3_server.url, experiment_name="sweeps")
    client = MlflowClient(mlflow3_server.url)
    _, children = _nest_two_trials(tracking, client, "sweeps")
    _assert_nested(client, children)


def test_trials_nest_under_the_parent_on_dagshubs_mlflow_2_line(dagshub_server, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("DAGSHUB_REPO_OWNER", dagshub_server.owner)
    monkeypatch.setenv("DAGSHUB_REPO_NAME", dagshub_server.repo)
    monkeypatch.setenv("DAGSHUB_USER_TOKEN", dagshub_server.token)
    monkeypatch.setenv("DAGSHUB_CLIENT_HOST", dagshub_server.host)
    tracking = MlflowTracking.from_env(experiment_name="sweeps")
    client = MlflowClient(dagshub_server.upstream)  # read back without the proxy
    _, children = _nest_two_trials(tracking, client, "sweeps")
    _assert_nested(client, children)


def test_the_trials_a_killed_sweep_left_running_are_found_for_the_next_run_to_end(tmp_path):
    from mlflow import MlflowClient

    from mlops_assets.tracking.child_runs import SWEEP_OF, running_children
    from mlops_assets.tracking.location import TrackingLocation

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    location = TrackingLocation(uri=uri, experiment="sweeps", uri_source="test")
    assert running_children(location) == []
    client = MlflowClient(uri)
    experiment = client.create_experiment("sweeps", artifact_location=tmp_path.as_uri())
    trial = client.create_run(experiment, tags={SWEEP_OF: "dagster-run-1"}).info.run_id
    client.create_run(experiment, tags={"dagster_run_id": "dagster-run-1"})  # a parent
    assert running_children(location) == [("dagster-run-1", trial)]
    client.set_terminated(trial, status="KILLED")
    assert running_children(location) == []
