"""Where a CLI run's time goes: one full run and one no-op re-run, phase by phase.

Reads the run's own event log: start-up (process start to RUN_START: interpreter, Dagster and
the code location, the instance, planning), each step from STEP_START to STEP_SUCCESS, and
what is left (events between steps, RUN_SUCCESS to exit); then the fixed costs behind them, each
timed alone. Not a target, a map for the others:

    python -m bench profile
"""

import tempfile
import time
from pathlib import Path

from bench.common import Figure, median, run_python
from mlops_assets_tests.support.cli_project import CliProject

OPEN_STORE = "import mlflow; mlflow.MlflowClient('{store}').search_experiments()"
# Fixed costs the CLI pays and a bare training script does not, each timed in a fresh
# interpreter (printed by the child, so interpreter start-up is left out).
FIXED_COSTS = {
    "import dagster": "import dagster",
    "import mlflow, open the local store, one query": OPEN_STORE,
    "MLflow model logging's installed-package scan": (
        "import importlib_metadata; importlib_metadata.packages_distributions()"
    ),
}
TIMED = "import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"


def phases(project: CliProject, started: float, seconds: float) -> list[tuple[str, float]]:
    """(phase, seconds) for the project's latest run, which started at ``started`` (epoch s)."""
    from dagster import DagsterEventType

    with project.instance() as instance:
        [record] = instance.get_run_records(limit=1)
        logs = instance.all_logs(record.dagster_run.run_id)
    first = {}
    last = {}
    for entry in logs:
        kind = entry.dagster_event_type
        if kind == DagsterEventType.RUN_START:
            first["run"] = entry.timestamp
        elif kind == DagsterEventType.STEP_START:
            first[entry.step_key] = entry.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            last[entry.step_key] = entry.timestamp
        last["run"] = entry.timestamp
    steps = [(f"step {key}", last[key] - first[key]) for key in first if key != "run"]
    startup = first["run"] - started
    exit_ = started + seconds - last["run"]
    between = seconds - startup - exit_ - sum(s for _, s in steps)
    return [
        ("start-up to RUN_START", startup),
        *steps,
        ("between steps", between),
        ("RUN_SUCCESS to exit", exit_),
    ]


def _profiled(project: CliProject) -> tuple[float, list[tuple[str, float]]]:
    started = time.time()
    result = project.materialize()
    return result.seconds, phases(project, started, result.seconds)


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="mlops-assets-profile-") as tmp:
        project = CliProject(Path(tmp))
        full = _profiled(project)
        noop = _profiled(project)
    for name, (seconds, parts) in (("full run", full), ("no-op re-run", noop)):
        print(f"{name}: {seconds:.2f}s")
        for phase, spent in parts:
            print(f"  {phase:<40} {spent:6.2f}s  {spent / seconds:5.1%}")
    print("fixed costs, fresh interpreter (medians of 3):")
    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:///{tmp}/mlflow.db"
        run_python(OPEN_STORE.format(store=store))  # a store that exists, as after a first run
        for name, code in FIXED_COSTS.items():
            timed = TIMED.format(code=code.format(store=store))
            spent = median([float(run_python(timed)) for _ in range(3)])
            print(f"  {name:<48} {spent:6.2f}s")
    return []
