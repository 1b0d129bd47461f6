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

from mlops_assets.project import project_dir
from mlops_assets.resources.tracking import MlflowTracking
from mlops_assets_tests.conftest import FAST_TRAIN, Workspace, run_config

ROOT = project_dir()
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
BRANCH_TAG = "mlops_assets/branch"  # the per-branch limit in deploy/dagster.yaml
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
    """What an operator sets: the Postgres connection, ports, where artifacts and MLflow go."""
    return {
        **os.environ,
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


@contextmanager
def process(command: list[str], env: dict, log: Path, grace: float = 20):
    """A process in its own process group, always gone after the block (SIGTERM, then SIGKILL)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        kill_group(proc, grace)


def kill_group(proc: subprocess.Popen, grace: float = 20) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)  # the whole group: leftovers too, once the leader is gone
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass


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
        tags={BRANCH_TAG: branch},
    )


def run_rows(database: str) -> dict[str, tuple]:
    """run_id -> (status, start_time, end_time), straight from Dagster's Postgres tables."""
    rows = query(database, "SELECT run_id, status, start_time, end_time FROM runs")
    return {run_id: rest for run_id, *rest in rows}


def finished(database: str, run_ids: list[str]) -> bool:
    rows = run_rows(database)
    done = {"SUCCESS", "FAILURE", "CANCELED"}
    return all(rows.get(run_id, ("",))[0] in done for run_id in run_ids)


@pytest.fixture
def stack(tmp_path, database):
    """deploy/launch.sh: code server, webserver and daemon on the Postgres instance."""
    env = deploy_env(tmp_path, database)
    log = tmp_path / "launch.log"
    # Up to 90s: the launcher itself stops its processes, SIGKILL after its own grace period.
    with process(["bash", str(DEPLOY / "launch.sh")], env, log, grace=90) as launcher:
        wait_for(lambda: webserver_up(env) or launcher.poll() is not None, 240, "the webserver")
        assert launcher.poll() is None, log.read_text(errors="replace")[-4000:]
        yield env, launcher, log


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


def test_the_graph_runs_through_the_postgres_instance_and_a_fresh_process_reads_it_back(
    stack, database
):
    env, launcher, log = stack
    run_id = submit_retrain(env, "main")
    wait_for(lambda: finished(database, [run_id]), RUN_TIMEOUT, "the retrain run")
    assert run_rows(database)[run_id][0] == "SUCCESS", log.read_text(errors="replace")[-4000:]

    seen = read_back(env)
    assert seen["storage"] == "PostgresRunStorage"
    assert seen["runs"][run_id][0] == "SUCCESS"
    assert seen["runs"][run_id][1][BRANCH_TAG] == "main"
    for key, run_ids in seen["materialized_by"].items():
        assert run_ids == [run_id], key
    events = query(database, "SELECT count(*) FROM event_logs WHERE run_id = %s", run_id)
    assert events[0][0] > 10
    assert (Path(env["MLOPS_ASSETS_ARTIFACTS_DIR"]) / "runs" / run_id / "model.keras").exists()

    # SIGTERM stops all three processes cleanly, and the launcher exits 0.
    os.killpg(launcher.pid, signal.SIGTERM)
    assert launcher.wait(60) == 0
    assert "SIGKILL" not in log.read_text(errors="replace")
    assert not listening(env["DAGSTER_CODE_SERVER_PORT"])
    assert not listening(env["DAGSTER_WEBSERVER_PORT"])


@pytest.mark.skip(reason="TODO(after the automation merge): needs the git-change sensor on main")
def test_the_sensor_cursor_is_read_back_from_postgres(stack, database):
    """TODO(lead, after merging `automation`): turn the sensor on (MLOPS_ASSETS_SENSOR=on) with
    MLOPS_ASSETS_WATCH_REPO pointing at a temporary git repository, commit there, wait for the
    sensor's run, then assert that read_back(env)["cursors"] holds that commit for the sensor
    (and that it is in the `instigators`/`job_ticks` tables of `database`)."""
    env, _, _ = stack
    assert read_back(env)["cursors"]


def test_two_retrains_of_one_branch_queue_and_keep_their_own_artifacts(stack, database):
    env, _, log = stack
    first, second = submit_retrain(env, "feature-x"), submit_retrain(env, "feature-x")

    # While one runs, the other waits in the queue: never both launched at once.
    def one_started_one_queued():
        statuses = sorted(run_rows(database)[r][0] for r in (first, second))
        both_active = statuses[0] in ("STARTING", "STARTED") and statuses[1] in (
            "STARTING",
            "STARTED",
        )
        assert not both_active, statuses
        return statuses in (["QUEUED", "STARTED"], ["QUEUED", "STARTING"])

    wait_for(one_started_one_queued, RUN_TIMEOUT, "one run started, the other queued")
    wait_for(lambda: finished(database, [first, second]), 2 * RUN_TIMEOUT, "both runs")

    rows = run_rows(database)
    assert [rows[first][0], rows[second][0]] == ["SUCCESS", "SUCCESS"], log.read_text(
        errors="replace"
    )[-4000:]
    earlier, later = sorted((first, second), key=lambda r: rows[r][1])
    assert rows[later][1] >= rows[earlier][2], "the second run started before the first ended"

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
    both end in a definite state, each was started exactly once, and no run was added.

    TODO(lead, after merging `automation`): the sensor variant: let the git-change sensor request
    the run for a commit, kill the daemon mid-run, restart it, wait a few sensor ticks and assert
    exactly one run tagged with that commit (the run_key de-duplication and the cursor survive
    in Postgres)."""
    from dagster import DagsterEventType

    env = deploy_env(tmp_path, database)
    workspace = str(DEPLOY / "workspace.yaml")
    port = env["DAGSTER_CODE_SERVER_PORT"]
    code_server = ["dagster", "code-server", "start", "-h", "127.0.0.1", "-p", port]
    code_server += ["-m", "mlops_assets.definitions", "--location-name", "mlops_assets"]
    health = ["dagster", "api", "grpc-health-check", "-p", port]
    daemon = ["dagster-daemon", "run", "-w", workspace]
    # Submitted through the instance's QueuedRunCoordinator, as the webserver would.
    launch = ["dagster", "job", "launch", "-w", workspace, "-j", "retrain"]
    launch += ["--config-json", json.dumps(TINY), "--tags", json.dumps({BRANCH_TAG: "kill"})]
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").symlink_to(DEPLOY / "dagster.yaml")

    def run(command):
        return subprocess.run(command, check=False, env=env, cwd=ROOT, capture_output=True)

    with process(code_server, env, tmp_path / "code_server.log"):
        wait_for(lambda: run(health).returncode == 0, 180, "the code server")
        for _ in range(2):
            submitted = run(launch)
            assert submitted.returncode == 0, submitted.stderr[-3000:]
        run_ids = list(run_rows(database))

        def statuses():
            return sorted(run_rows(database)[r][0] for r in run_ids)

        with process(daemon, env, tmp_path / "daemon.log") as first_daemon:
            wait_for(lambda: statuses() == ["QUEUED", "STARTED"], RUN_TIMEOUT, "one run STARTED")
            os.killpg(first_daemon.pid, signal.SIGKILL)
            first_daemon.wait(10)

        with process(daemon, env, tmp_path / "daemon2.log"):
            wait_for(lambda: finished(database, run_ids), 2 * RUN_TIMEOUT, "both runs to end")
            time.sleep(5)  # a few more queue and monitoring cycles of the restarted daemon

    assert statuses() == ["SUCCESS", "SUCCESS"]  # the runs live in the code server, not the daemon
    assert len(run_rows(database)) == 2
    for run_id in run_ids:
        starts = query(
            database,
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            run_id,
            DagsterEventType.RUN_START.value,  # stored under its legacy name, PIPELINE_START
        )
        assert starts == [(1,)], f"run {run_id} was not started exactly once"


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

        from mlflow.tracking import MlflowClient

        client = MlflowClient(url)
        (experiment,) = [e for e in client.search_experiments() if e.name == "tests"]
        (run,) = client.search_runs([experiment.experiment_id])
        assert run.info.status == "FINISHED"
        assert run.data.params["train.epochs"] == "2"
        assert len(client.get_metric_history(run.info.run_id, "loss")) == 2
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # proxied, not a path
        downloaded = client.download_artifacts(run.info.run_id, "model", str(tmp_path / "dl"))
        assert (Path(downloaded) / "model.keras").stat().st_size > 0

    assert list(store.rglob("model.keras")), "the server did not store the artifact itself"
    stored = query(database, "SELECT status FROM runs WHERE run_uuid = %s", run.info.run_id)
    assert stored == [("FINISHED",)]
