"""A regression ``MetricsReport`` for tests of what is rendered or posted from one."""

from mlops_assets.records import Baseline, MetricsReport


def sample_report(mae: float = 41.0, **overrides) -> MetricsReport:
    """MAE ``mae`` against a baseline of 43, with ``overrides`` for any other field."""
    fields = {
        "task": "regression",
        "headline": "mae",
        "metrics": {"mae": mae, "rmse": 52.0, "r2": 0.45},
        "naive": {"mae": 60.0, "rmse": 70.0, "r2": 0.0},
        "markdown": "",
        "directory": "/tmp/run",
        "data_hash": "d" * 32,
        "mlflow_run_id": "run123",
        "baseline": Baseline(run_id="base1", metrics={"mae": 43.0, "rmse": 50.0, "r2": 0.45}),
    }
    return MetricsReport(**{**fields, **overrides})
