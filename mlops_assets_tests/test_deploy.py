"""The production deployment (deploy/) on a real PostgreSQL server on loopback.

`.ci/postgres.sh` provides the server; every test gets its own database. Without a reachable
server the tests skip, except in CI (`CI` set), where they fail: there they must run.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlops_assets import run_tags
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.settings import project_dir
from mlops_assets_tests.conftest import FAST_TRAIN, Workspace, run_config
from mlops_assets_tests.support.git_repo import project_repository
from mlops_assets_tests.support.params import params_yaml
from mlops_assets_tests.support.processes import process_group

pytestmark = pytest.mark.pipeline  # runs the CLI, a daemon or the assets throughout

ROOT = project_dir()
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
TINY = {"ops": {"trained_model": {"config": {**FAST_TRAIN, "epochs": 2}}}}
RUN_TIMEOUT = 240  # seconds for one tiny retrain through the queue, on a busy 2-core machine

PG = {
    "host": os.environ.get("MLOPS_ASSETS_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("MLOPS_ASSETS_TEST_PG_PORT", "5432")),
    "user": os.environ.get("MLOPS_ASSETS_TEST_PG_USER", "mlops_assets"),
    "password": os.environ.get("MLOPS_ASSETS_TEST_PG_PASSWORD", "mlops-assets-test"),
}


def _connect(dbname: str):
    import psycopg2

    return psycopg2.connect(dbname=dbname, connect_timeout=5, **PG)


def _server_problem() -> str | None:
    try:
        _connect(PG["user"]).close()
    except Exception as error:  # noqa: BLE001 - any failure means "no usable server"
        return f"{type(error).__name__}: {str(error).strip()}"
    return None


@pytest.fixture(scope="module", autouse=True)
def postgres_server():
    problem = _server_problem()
    if problem is None:
        return
    message = f"no PostgreSQL for the deploy tests at {PG['host']}:{PG['port']} ({problem}); "
    if os.environ.get("CI"):
        pytest.fail(message + "CI must run them: call .ci/postgres.sh first")
    pytest.skip(message + "run .ci/postgres.sh to start one")


@pytest.fixture
def database():
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"mlops_assets_test_{uuid.uuid4().hex[:12]}"
    admin = _connect(PG["user"])
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield name
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def query(dbname: str, sql: str, *args) -> list[tuple]:
    with _connect(dbname) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deploy_env(tmp_path: Path, database: str) -> dict[str, str]:
    """What an operator sets: the Postgres connection, ports, where artifacts and MLflow go.
    Nothing of the caller's own project settings or credentials leaks in."""
    own = ("MLOPS_ASSETS_", "DAGSTER_", "MLFLOW_", "GITHUB_", "DAGSHUB_")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(own)},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "DAGSTER_PG_HOST": PG["host"],
        "DAGSTER_PG_PORT": str(PG["port"]),
        "DAGSTER_PG_USERNAME": PG["user"],
        "DAGSTER_PG_PASSWORD": PG["password"],
        "DAGSTER_PG_DB": database,
        "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
        "DAGSTER_CODE_SERVER_PORT": str(free_port()),
        "DAGSTER_WEBSERVER_HOST": "127.0.0.1",
        "DAGSTER_WEBSERVER_PORT": str(free_port()),
        "MLOPS_ASSETS_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        # The automation branch's sensor and schedule would retrain on this checkout's commits.
        "MLOPS_ASSETS_SENSOR": "off",
        "MLOPS_ASSETS_SCHEDULE": "off",
    }


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def process(command: list[str], env: dict, log: Path, grace: float = 20):
    return process_group(command, env, log, cwd=ROOT, grace=grace)


def listening(port: str) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", int(port))) == 0


def graphql(env: dict):
    from dagster_graphql import DagsterGraphQLClient

    return DagsterGraphQLClient("127.0.0.1", port_number=int(env["DAGSTER_WEBSERVER_PORT"]))


def webserver_up(env: dict) -> bool:
    import urllib.request

    url = f"http://127.0.0.1:{env['DAGSTER_WEBSERVER_PORT']}/server_info"
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def submit_retrain(env: dict, branch: str) -> str:
    return graphql(env).submit_job_execution(
        "retrain",
        repository_location_name="mlops_assets",
        run_config=TINY,
        tags={run_tags.BRANCH: branch},
    )


def run_rows(database: str) -> dict[str, tuple]:
    """run_id -> (status, start_time, end_time), straight from Dagster's Postgres tables."""
    rows = query(database, "SELECT run_id, status, start_time, end_time FROM runs")
    return {run_id: rest for run_id, *rest in rows}


def finished(database: str, run_ids: list[str]) -> bool:
    rows = run_rows(database)
    done = {"SUCCESS", "FAILURE", "CANCELED"}
    return all(rows.get(run_id, ("",))[0] in done for run_id in run_ids)


@contextmanager
def launched(env: dict, log: Path):
    """deploy/launch.sh: code server, webserver and daemon on the Postgres instance."""
    # Up to 90s: the launcher itself stops its processes, SIGKILL after its own grace period.
    with process(["bash", str(DEPLOY / "launch.sh")], env, log, grace=90) as launcher:
        wait_for(lambda: webserver_up(env) or launcher.poll() is not None, 240, "the webserver")
        assert launcher.poll() is None, log.read_text(errors="replace")[-4000:]
        yield launcher


@contextmanager
def code_server(env: dict, log: Path):
    """The code server alone (deploy/workspace.yaml points at it), ready to serve."""
    port = env["DAGSTER_CODE_SERVER_PORT"]
    command = ["dagster", "code-server", "start", "-h", "127.0.0.1", "-p", port]
    command += ["-m", "mlops_assets.definitions", "--location-name", "mlops_assets"]
    health = ["dagster", "api", "grpc-health-check", "-p", port]

    def healthy():
        return subprocess.run(health, check=False, env=env, capture_output=True).returncode == 0

    with process(command, env, log) as server:
        wait_for(healthy, 180, "the code server")
        yield server


def link_instance(env: dict) -> None:
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").symlink_to(DEPLOY / "dagster.yaml")


def kill_daemon_and_restart(env: dict, tmp_path: Path, killed_when, until) -> None:
    """Run the daemon until ``killed_when()``, SIGKILL it, run a new one until ``until()``."""
    daemon = ["dagster-daemon", "run", "-w", str(DEPLOY / "workspace.yaml")]
    with process(daemon, env, tmp_path / "daemon.log") as first:
        wait_for(killed_when, RUN_TIMEOUT, "the moment to kill the daemon")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    with process(daemon, env, tmp_path / "daemon2.log"):
        wait_for(until, 2 * RUN_TIMEOUT, "the restarted daemon")
        time.sleep(6)  # a few more queue, sensor and monitoring cycles


def run_starts(database: str, run_id: str) -> int:
    from dagster import DagsterEventType

    (count,) = query(
        database,
        "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
        run_id,
        DagsterEventType.RUN_START.value,  # stored under its legacy name, PIPELINE_START
    )[0]
    return count


READ_BACK = """
import json
from dagster import AssetKey, DagsterInstance
instance = DagsterInstance.get()
runs = instance.get_runs()
print(json.dumps({
    "storage": type(instance.run_storage).__name__,
    "runs": {r.run_id: [r.status.value, r.tags] for r in runs},
    "materialized_by": {
        key: [e.run_id for e in instance.fetch_materializations(AssetKey(key), limit=10).records]
        for key in ["raw_data", "features", "trained_model", "metrics_report", "pr_comment"]
    },
    "cursors": {s.instigator_name: s.instigator_data and getattr(s.instigator_data, "cursor", None)
                for s in instance.all_instigator_state()},
}))
"""


def read_back(env: dict) -> dict:
    """Run history, materialisations and sensor cursors, as a fresh process sees them."""
    result = subprocess.run(
        [sys.executable, "-c", READ_BACK],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# two epochs beat the naive predictor, so the model gate passes
FAST_PARAMS = params_yaml(
    train={"epochs": 2, "hidden_layers": [8], "learning_rate": 0.02, "early_stopping_patience": 0}
)


def watched_project(tmp_path: Path, env: dict):
    """A git repository of the project that the git-change sensor watches and retrains from."""
    repo = project_repository(tmp_path / "project")
    repo.commit({"params.yaml": FAST_PARAMS}, "few epochs for the test")
    env.update(
        MLOPS_ASSETS_SENSOR="on",
        MLOPS_ASSETS_SENSOR_INTERVAL="2",
        MLOPS_ASSETS_WATCH_REPO=str(repo.path),
        MLOPS_ASSETS_PROJECT_DIR=str(repo.path),
    )
    return repo, run_tags.COMMIT


def add_a_row(repo) -> str:
    csv = repo.path / "data" / "diabetes.csv"
    rows = csv.read_text().splitlines(keepends=True)
    return repo.commit({"data/diabetes.csv": "".join(rows + rows[-1:])}, "one more row")


def cursor(env: dict) -> str:
    return read_back(env)["cursors"].get("git_changes") or ""


def runs_for_commit(database: str, commit_tag: str, sha: str) -> list[str]:
    rows = query(
        database, "SELECT run_id FROM run_tags WHERE key = %s AND value = %s", commit_tag, sha
    )
    return [run_id for (run_id,) in rows]


def test_the_sensor_retrains_a_commit_and_its_cursor_is_read_back_from_postgres(tmp_path, database):
    env = deploy_env(tmp_path, database)
    repo, commit_tag = watched_project(tmp_path, env)
    with launched(env, tmp_path / "launch.log"):
        wait_for(lambda: repo.head() in cursor(env), 120, "the sensor's first tick")
        sha = add_a_row(repo)
        wait_for(lambda: runs_for_commit(database, commit_tag, sha), 60, "the sensor's request")
        (run_id,) = runs_for_commit(database, commit_tag, sha)
        wait_for(lambda: finished(database, [run_id]), RUN_TIMEOUT, "the retrain")

    assert run_rows(database)[run_id][0] == "SUCCESS"
    seen = read_back(env)  # a fresh process, after the whole stack has stopped
    assert sha in seen["cursors"]["git_changes"]
    assert seen["runs"][run_id][1]["dagster/run_key"] == sha


def test_a_daemon_killed_mid_run_does_not_request_the_same_commit_twice(tmp_path, database):
    env = deploy_env(tmp_path, database)
    repo, commit_tag = watched_project(tmp_path, env)
    link_instance(env)
    with code_server(env, tmp_path / "code_server.log"):
        sha = None

        def started():
            nonlocal sha
            if sha is None and repo.head() in cursor(env):
                sha = add_a_row(repo)  # the sensor watches from here on
            runs = runs_for_commit(database, commit_tag, sha) if sha else []
            return runs and run_rows(database)[runs[0]][0] == "STARTED"

        kill_daemon_and_restart(
            env,
            tmp_path,
            killed_when=started,
            until=lambda: finished(database, runs_for_commit(database, commit_tag, sha)),
        )

    (run_id,) = runs_for_commit(database, commit_tag, sha)
    assert run_rows(database)[run_id][0] in ("SUCCESS", "FAILURE")
    assert run_starts(database, run_id) == 1
    assert len(run_rows(database)) == 1


def test_two_retrains_of_one_branch_queue_on_postgres_and_a_fresh_process_reads_them_back(
    tmp_path, database
):
    """The launcher's stack runs the whole graph twice for one branch: the second run waits in
    the queue, each keeps its own artifacts, everything is in Postgres, and SIGTERM stops it all."""
    env = deploy_env(tmp_path, database)
    env["MLOPS_ASSETS_FORCE"] = "1"  # both train: the second would otherwise reuse the first
    log = tmp_path / "launch.log"
    with launched(env, log) as launcher:
        first, second = submit_retrain(env, "feature-x"), submit_retrain(env, "feature-x")

        def one_started_one_queued():
            statuses = sorted(run_rows(database)[r][0] for r in (first, second))
            assert statuses[0] not in ("STARTING", "STARTED"), f"both launched: {statuses}"
            return statuses in (["QUEUED", "STARTED"], ["QUEUED", "STARTING"])

        wait_for(one_started_one_queued, RUN_TIMEOUT, "one run started, the other queued")
        wait_for(lambda: finished(database, [first, second]), 2 * RUN_TIMEOUT, "both runs")

        # SIGTERM stops all three processes cleanly, and the launcher exits 0.
        os.killpg(launcher.pid, signal.SIGTERM)
        assert launcher.wait(90) == 0
    launch_log = log.read_text(errors="replace")
    assert "SIGKILL" not in launch_log
    assert not listening(env["DAGSTER_CODE_SERVER_PORT"])
    assert not listening(env["DAGSTER_WEBSERVER_PORT"])

    rows = run_rows(database)
    assert [rows[first][0], rows[second][0]] == ["SUCCESS", "SUCCESS"], launch_log[-4000:]
    earlier, later = sorted((first, second), key=lambda r: rows[r][1])
    assert rows[later][1] >= rows[earlier][2], "the second run started before the first ended"

    seen = read_back(env)  # a fresh process, with the stack gone: only Postgres remains
    assert seen["storage"] == "PostgresRunStorage"
    assert {r: seen["runs"][r][0] for r in (first, second)} == {first: "SUCCESS", second: "SUCCESS"}
    assert seen["runs"][first][1][run_tags.BRANCH] == "feature-x"
    for key, run_ids in seen["materialized_by"].items():
        assert run_ids == [later, earlier], key  # newest first

    artifacts = Path(env["MLOPS_ASSETS_ARTIFACTS_DIR"])
    for run_id in (first, second):
        run_dir = artifacts / "runs" / run_id
        assert (run_dir / "model.keras").stat().st_size > 0
        assert json.loads((run_dir / "metrics.json").read_text())
    assert (artifacts / "latest").resolve() == (artifacts / "runs" / later).resolve()
    # The first run's model was written before the second run started, and never again.
    assert (artifacts / "runs" / earlier / "model.keras").stat().st_mtime <= rows[later][1]


def test_a_daemon_killed_mid_run_leaves_each_run_launched_once_and_finished(tmp_path, database):
    """SIGKILL the daemon while one retrain runs and another waits in the queue, start it again:
    both end in a definite state, each was started exactly once, and no run was added."""
    env = deploy_env(tmp_path, database)
    link_instance(env)
    # Submitted through the instance's QueuedRunCoordinator, as the webserver would.
    launch = ["dagster", "job", "launch", "-w", str(DEPLOY / "workspace.yaml"), "-j", "retrain"]
    launch += ["--config-json", json.dumps(TINY), "--tags", json.dumps({run_tags.BRANCH: "kill"})]

    with code_server(env, tmp_path / "code_server.log"):
        for _ in range(2):
            submitted = subprocess.run(launch, check=False, env=env, cwd=ROOT, capture_output=True)
            assert submitted.returncode == 0, submitted.stderr[-3000:]
        run_ids = list(run_rows(database))

        def statuses():
            return sorted(run_rows(database)[r][0] for r in run_ids)

        kill_daemon_and_restart(
            env,
            tmp_path,
            killed_when=lambda: statuses() == ["QUEUED", "STARTED"],
            until=lambda: finished(database, run_ids),
        )

    assert statuses() == ["SUCCESS", "SUCCESS"]  # the runs live in the code server, not the daemon
    assert len(run_rows(database)) == 2
    assert [run_starts(database, r) for r in run_ids] == [1, 1]


def test_the_mlflow_server_profile_keeps_runs_in_postgres_and_serves_artifacts(tmp_path, database):
    port = free_port()
    store = tmp_path / "mlflow-artifacts"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_BACKEND_STORE_URI": (
            f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{database}"
        ),
        "PGPASSWORD": PG["password"],
        "MLFLOW_ARTIFACTS_DESTINATION": str(store),
        "MLFLOW_PORT": str(port),
        "MLFLOW_WORKERS": "1",
    }
    log = tmp_path / "mlflow.log"
    with process(["bash", str(DEPLOY / "mlflow" / "server.sh")], env, log) as server:
        url = f"http://127.0.0.1:{port}"

        def up():
            import urllib.request

            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    return True
            except OSError:
                return False

        wait_for(up, 120, "the MLflow server")
        workspace = Workspace(tmp_path / "work")
        workspace.resources["tracking"] = MlflowTracking(tracking_uri=url, experiment_name="tests")
        result = workspace.materialize(config=run_config(train={"epochs": 2}))
        assert result.success

        from mlflow import artifacts as mlflow_artifacts
        from mlflow.tracking import MlflowClient

        client = MlflowClient(url)
        (experiment,) = [e for e in client.search_experiments() if e.name == "tests"]
        (run,) = client.search_runs([experiment.experiment_id])
        assert run.info.status == "FINISHED"
        assert run.data.params["train.epochs"] == "2"
        assert len(client.get_metric_history(run.info.run_id, "train_loss")) == 2
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # proxied, not a path
        [model] = client.search_logged_models([experiment.experiment_id])  # MLflow 3 model
        assert model.source_run_id == run.info.run_id
        downloaded = mlflow_artifacts.download_artifacts(
            artifact_uri=model.artifact_location, dst_path=str(tmp_path / "dl"), tracking_uri=url
        )
        assert [p.stat().st_size > 0 for p in Path(downloaded).rglob("model.keras")] == [True]

    assert list(store.rglob("model.keras")), "the server did not store the artifact itself"
    stored = query(database, "SELECT status FROM runs WHERE run_uuid = %s", run.info.run_id)
    assert stored == [("FINISHED",)]
