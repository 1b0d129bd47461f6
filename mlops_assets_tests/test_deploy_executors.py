"""Trials beyond one machine: the code location loads with Dagster's k8s_job_executor or
celery_executor (``MLOPS_ASSETS_EXECUTOR``), and the run config examples in
``deploy/executors/`` are valid for its retrain job. Each load is a fresh process, as a code
server, a run pod or a Celery worker loads it."""

import json
import os
import subprocess
import sys

import pytest

from mlops_assets.settings import project_dir

LOAD = """
import json, sys
import yaml
from dagster import validate_run_config
from mlops_assets.definitions import defs
job = defs.resolve_job_def("retrain")
config = yaml.safe_load(open(sys.argv[1])) if len(sys.argv) > 1 else {}
validated = validate_run_config(job, config) if config else {}
print(json.dumps({
    "executor": job.executor_def.name,
    "execution": validated.get("execution", {}),
    "integrations": sorted(m for m in ("dagster_k8s", "dagster_celery") if m in sys.modules),
}))
"""


def load(executor: str | None, *config: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_ASSETS_", "DAGSTER"))
    }
    environment.update(env, MLOPS_ASSETS_PROJECT_DIR=str(project_dir()))
    if executor is not None:
        environment["MLOPS_ASSETS_EXECUTOR"] = executor
    return subprocess.run(
        [sys.executable, "-c", LOAD, *config],
        capture_output=True,
        text=True,
        env=environment,
        cwd=project_dir(),
        check=False,
        timeout=300,
    )


def loaded(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_default_runs_steps_in_process_and_imports_neither_integration():
    assert loaded(load(None)) == {"executor": "in_process", "execution": {}, "integrations": []}


def test_the_code_location_loads_with_the_k8s_job_executor_and_its_example_config():
    example = project_dir() / "deploy" / "executors" / "k8s.yaml"

    found = loaded(load("k8s", str(example)))

    assert found["executor"] == "k8s" and "dagster_k8s" in found["integrations"]
    config = found["execution"]["k8s"]
    assert config["max_concurrent"] == 4 and config["job_namespace"] == "dagster"
    assert config["volume_mounts"] == [{"name": "artifacts", "mountPath": "/var/lib/mlops-assets"}]


def test_the_code_location_loads_with_the_celery_executor_and_its_example_config():
    example = project_dir() / "deploy" / "executors" / "celery.yaml"
    broker = "pyamqp://guest@rabbitmq.invalid:5672//"

    found = loaded(
        load(
            "celery",
            str(example),
            DAGSTER_CELERY_BROKER_URL=broker,
            DAGSTER_CELERY_BACKEND_URL="redis://redis.invalid:6379/0",
        )
    )

    assert found["executor"] == "celery" and "dagster_celery" in found["integrations"]
    assert found["execution"]["celery"]["broker"] == broker
    assert found["execution"]["celery"]["config_source"]["task_acks_late"] is True


def test_a_sweeps_trials_are_placed_by_the_chosen_executor_under_the_project_lock():
    example = project_dir() / "deploy" / "executors" / "k8s.yaml"
    sweep = json.dumps(["train.learning_rate=0.002,0.01"])

    found = loaded(load("k8s", str(example), MLOPS_ASSETS_SWEEP=sweep))

    assert found["executor"] == "k8s_project_held" and "dagster_k8s" in found["integrations"]
    [config] = found["execution"].values()
    assert config["job_namespace"] == "dagster" and config["max_concurrent"] == 4


@pytest.mark.parametrize("executor", ["k8s", "celery"])
def test_an_example_config_is_checked_against_its_executor(executor, tmp_path):
    """The validation can fail: a key the executor does not have is refused, by name."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("execution:\n  config:\n    no_such_key: 1\n")

    done = load(executor, str(bad))

    assert done.returncode != 0 and "no_such_key" in done.stderr


def test_an_unknown_executor_is_named_with_the_choices():
    done = load("spark")

    assert done.returncode != 0
    assert "MLOPS_ASSETS_EXECUTOR='spark': expected one of default, k8s, celery" in done.stderr


def test_mlops_assets_run_says_an_unknown_executor_in_one_line_with_exit_2(tmp_path):
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_ASSETS_", "DAGSTER"))
    }
    environment.update(MLOPS_ASSETS_EXECUTOR="spark", MLOPS_ASSETS_PROJECT_DIR=str(project_dir()))
    done = subprocess.run(
        [sys.executable, "-m", "mlops_assets", "run"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        check=False,
        timeout=300,
    )

    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == (
        "mlops-assets: MLOPS_ASSETS_EXECUTOR='spark': expected one of default, k8s, celery"
    )
    assert "Traceback" not in done.stderr
