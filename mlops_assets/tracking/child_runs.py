"""A sweep's trials as MLflow child runs of the Dagster run's MLflow run.

Each trial runs in its own process (the multiprocess executor), where MLflow's fluent API would
end its active run when the process exits. So a child run is made and ended explicitly through
``MlflowClient``: ``create_run`` with the ``mlflow.parentRunId`` tag (what MLflow's and DagsHub's
UIs nest by), its params, its curves in batches, and ``set_terminated`` with its status. Works
the same against the embedded store, MLflow 3 servers and the 2.x line.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from mlops_assets.report.metrics import curve_name
from mlops_assets.tracking.epoch_metrics import EpochMetrics, Point
from mlops_assets.tracking.location import TrackingLocation

PARENT_RUN_ID = "mlflow.parentRunId"
RUN_NAME = "mlflow.runName"
SWEEP_OF = (
    "mlops_assets/sweep_of"  # the Dagster run; not dagster-mlflow's tag, which the parent has
)
TRIAL = "mlops_assets/trial"


@dataclass(frozen=True)
class ChildRun:
    run_id: str
    client: object  # mlflow.MlflowClient

    def curves(self, interval: float = 10.0) -> EpochMetrics:
        """An ``on_epoch`` callback sending the curves to this run in a few batches."""
        from mlflow.entities import Metric

        def send(points: list[Point]) -> None:
            metrics = [Metric(curve_name(p.key), p.value, p.timestamp_ms, p.step) for p in points]
            self.client.log_batch(self.run_id, metrics=metrics)

        return EpochMetrics(send, interval)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)


@contextmanager
def child_run(
    location: TrackingLocation,
    parent_run_id: str,
    name: str,
    params: Mapping[str, str],
    tags: Mapping[str, str],
) -> Iterator[ChildRun]:
    """A run nested under ``parent_run_id``, ended FINISHED after the block, FAILED on error."""
    from mlflow import MlflowClient
    from mlflow.entities import Param

    client = MlflowClient(location.uri)
    parent = client.get_run(parent_run_id)
    all_tags = {**tags, PARENT_RUN_ID: parent_run_id, RUN_NAME: name}
    run = client.create_run(parent.info.experiment_id, tags=all_tags)
    run_id = run.info.run_id
    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
    try:
        yield ChildRun(run_id, client)
    except BaseException:
        try:
            client.set_terminated(run_id, status="FAILED")
        except Exception:  # noqa: BLE001 - the trial's own error is the one to report
            pass
        raise
    client.set_terminated(run_id, status="FINISHED")


def log_curves(location: TrackingLocation, run_id: str, history: Mapping[str, list]) -> None:
    """A finished training's ``history`` (per-epoch values) on ``run_id``, in batches."""
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(location.uri)
    now = int(time.time() * 1000)
    points = [
        Metric(curve_name(key), float(value), now, step)
        for key, values in history.items()
        for step, value in enumerate(values)
    ]
    for start in range(0, len(points), 1000):  # MLflow's log-batch limit
        client.log_batch(run_id, metrics=points[start : start + 1000])


def running_children(location: TrackingLocation) -> list[tuple[str, str]]:
    """``(Dagster run id, MLflow run id)`` of the trials still RUNNING in the experiment: a
    killed sweep leaves them so, and the next run ends them as it ends their parents."""
    from mlflow import MlflowClient

    client = MlflowClient(location.uri)
    experiment = client.get_experiment_by_name(location.experiment)
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id],
        f"attributes.status = 'RUNNING' and tags.`{SWEEP_OF}` != ''",
        max_results=500,
    )
    return [(run.data.tags[SWEEP_OF], run.info.run_id) for run in runs]
