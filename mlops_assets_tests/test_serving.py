"""The registered MLflow model stands alone: ``mlflow.pyfunc`` and ``mlflow models serve``
predict raw CSV rows (text, gaps, a category never seen) in a process that cannot import this
package, with its working directory outside the project, on the embedded store, an MLflow 3
server and the 2.7.1 line behind a DagsHub-style proxy. The serving snippets of the README and
docs/lifecycle.md run as written."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_assets.artifacts.layout import LABELS_FILE, MODEL_FILE
from mlops_assets.data.dataset import load_table
from mlops_assets.data.features import split_features
from mlops_assets.records import ModelVersion
from mlops_assets.tracking import mlflow_client, registry
from mlops_assets.tracking.location import TrackingLocation, local_tracking_uri
from mlops_assets_tests.conftest import SAMPLE_CSV
from mlops_assets_tests.support.datasets import heart_frame, wine_csv, write_csv
from mlops_assets_tests.support.processes import process_group
from mlops_assets_tests.support.tracking_servers import DAGSHUB_OWNER, free_port
from mlops_assets_tests.test_standalone_model import ROWS, TINY, blocked_env

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SERVE_TIMEOUT = 240  # seconds for `mlflow models serve` to answer /ping on a busy box


@dataclass(frozen=True)
class Trained:
    """A saved model as the pipeline leaves it (``model.keras``, ``labels.json``), the raw CSV
    rows to score and what ``keras_model.predict`` (or ``predict_labels``) says for them."""

    task: str
    model: Path
    rows: Path
    columns: list  # the features' Column records, as the pipeline logs them
    expected: list


def _train(directory: Path, csv: Path, target: str, task: str, rows: pd.DataFrame) -> Trained:
    from mlops_assets.modeling.keras_model import (
        load_model,
        predict,
        predict_labels,
        save_model,
        train_model,
    )

    directory.mkdir(parents=True)
    table = load_table(csv, target, task)
    features = split_features(table.frame, target, task, 0.2, 42, columns=table.columns)
    model = train_model(features, TINY, project=directory).model
    path = save_model(model, directory / MODEL_FILE)
    if features.classes:
        (directory / LABELS_FILE).write_text(json.dumps(features.classes) + "\n")
    rows_csv = write_csv(rows, directory / "rows.csv")
    raw = pd.read_csv(rows_csv)  # scored as a user's pandas reads the CSV
    loaded = load_model(path)
    if task == "multiclass_classification":
        expected = predict_labels(loaded, raw, features.classes)
    else:
        expected = predict(loaded, raw).tolist()
    return Trained(task, path, rows_csv, features.columns, expected)


def heart_rows() -> pd.DataFrame:
    """Rows of a heart CSV: string categoricals, empty cells, and categories never seen."""
    rows = heart_frame(rows=30, seed=7, blanks=4).drop(columns=["HeartDisease"])
    return pd.concat([rows, pd.DataFrame(ROWS)], ignore_index=True)


@pytest.fixture(scope="module")
def binary(tmp_path_factory) -> Trained:
    root = tmp_path_factory.mktemp("binary")
    csv = write_csv(heart_frame(), root / "heart.csv")
    return _train(root / "model", csv, "HeartDisease", "binary_classification", heart_rows())


@pytest.fixture(scope="module")
def regression(tmp_path_factory) -> Trained:
    """A number predicted from the same heart rows: text, gaps and unseen categories."""
    root = tmp_path_factory.mktemp("regression")
    csv = write_csv(heart_frame(), root / "heart.csv")
    rows = heart_rows().drop(columns=["Oldpeak"]).assign(HeartDisease=1)
    rows.loc[[2, 5], "HeartDisease"] = np.nan
    return _train(root / "model", csv, "Oldpeak", "regression", rows)


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory) -> Trained:
    """The sample the documentation's snippets use."""
    root = tmp_path_factory.mktemp("diabetes")
    rows = pd.read_csv(SAMPLE_CSV).drop(columns=["target"]).head(20)
    rows.loc[[3, 7], "bmi"] = np.nan
    return _train(root / "model", SAMPLE_CSV, "target", "regression", rows)


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory) -> Trained:
    root = tmp_path_factory.mktemp("multiclass")
    csv = wine_csv(root)
    rows = pd.read_csv(csv).drop(columns=["target"]).sample(20, random_state=3)
    return _train(root / "model", csv, "target", "multiclass_classification", rows)


def register_champion(location: TrackingLocation, trained: Trained, name: str) -> str:
    """``trained`` logged and registered as the pipeline does (``mlflow_client.log_model``,
    ``registry.register``), ``champion`` moved to it; returns the champion's URI."""
    import mlflow

    with mlflow_client.connected(location):
        experiment = mlflow.set_experiment(location.experiment).experiment_id
        with mlflow.start_run(experiment_id=experiment) as run:
            how, uri = mlflow_client.log_model(
                location, trained.model, 10.0, trained.columns, trained.task
            )
        record = ModelVersion(name=name, version="", run_id=run.info.run_id)
        version = registry.register(location, record, uri)
        registry.set_alias(location, name, registry.CHAMPION, version.version)
    native = "logged model" if not location.dagshub_repo else "run artifacts"
    assert how == native  # the 2.7.1 line has no logged models: plain run artifacts there
    return f"models:/{name}@{registry.CHAMPION}"


def client_env(tmp_path: Path, location: TrackingLocation) -> dict:
    """A process that cannot import mlops_assets, told where the registry is (credentials as
    MLflow's own variables: what a user of the registered model sets)."""
    env = blocked_env(tmp_path)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"  # `mlflow`, `uvicorn`
    env["MLFLOW_TRACKING_URI"] = location.uri
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(location.credential_env(os.environ))
    return env


def outside(tmp_path: Path) -> Path:
    where = tmp_path / "elsewhere"
    where.mkdir(exist_ok=True)
    return where


PYFUNC_PREDICT = """
import json, sys
import mlflow, pandas as pd

rows = pd.read_csv(sys.argv[2])
model = mlflow.pyfunc.load_model(sys.argv[1])
print("PREDICTIONS", json.dumps(pd.Series(model.predict(rows)).tolist()))
try:
    model.predict(rows.drop(columns=[rows.columns[0]]))
except Exception as error:
    print("MISSING", str(error).replace("\\n", " "))
"""


def pyfunc_in_blocked_process(tmp_path: Path, env: dict, uri: str, rows: Path):
    done = subprocess.run(
        [sys.executable, "-c", PYFUNC_PREDICT, uri, str(rows)],
        env=env,
        cwd=outside(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return json.loads(lines["PREDICTIONS"]), lines.get("MISSING", "")


def assert_same(served: list, trained: Trained) -> None:
    assert len(served) == len(trained.expected) == len(pd.read_csv(trained.rows))
    if trained.task == "multiclass_classification":
        assert served == trained.expected
    else:
        np.testing.assert_allclose(served, trained.expected, atol=1e-5)


def store(kind: str, request, tmp_path: Path, monkeypatch) -> TrackingLocation:
    """Where the model is registered: the embedded store, an MLflow 3 server with basic auth,
    or the 2.7.1 line behind DagsHub's URL shape and token."""
    if kind == "embedded":
        return TrackingLocation(local_tracking_uri(tmp_path), "serving", "test")
    if kind == "mlflow3":
        server = request.getfixturevalue("mlflow3_server")
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", server.username)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", server.password)
        return TrackingLocation(server.url, "serving", "test")
    server = request.getfixturevalue("dagshub_server")
    monkeypatch.setenv("DAGSHUB_USER_TOKEN", server.token)
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return TrackingLocation(
        server.tracking_uri,
        "serving",
        "test",
        dagshub_repo=(DAGSHUB_OWNER, server.repo),
        dagshub_host=server.host,
    )


@pytest.mark.pipeline
@pytest.mark.parametrize("kind", ["embedded", "mlflow3", "dagshub"])
def test_the_champion_predicts_raw_heart_rows_where_the_package_cannot_be_imported(
    kind, binary, request, tmp_path, monkeypatch
):
    location = store(kind, request, tmp_path, monkeypatch)
    uri = register_champion(location, binary, f"serving-binary-{kind}")

    served, missing = pyfunc_in_blocked_process(
        tmp_path, client_env(tmp_path, location), uri, binary.rows
    )

    assert_same(served, binary)
    assert all(0.0 <= p <= 1.0 for p in served)  # the positive class's probability
    if kind == "embedded":  # its input example is the training fills, not a training row
        import mlflow

        with mlflow_client.connected(location):
            local = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "dl"))
        example = mlflow.models.Model.load(local).load_input_example(local)
        fills = {c.name: c.fill for c in binary.columns}
        assert len(example) == 1 and list(example.columns) == list(fills)
        assert example.iloc[0]["ChestPainType"] == fills["ChestPainType"]
    assert "Model is missing inputs ['Age']" in missing  # as docs/lifecycle.md says


@pytest.mark.pipeline
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_regression_and_multiclass_champions_predict_values_and_labels(
    task, request, tmp_path, monkeypatch
):
    trained = request.getfixturevalue(task)
    location = store("embedded", request, tmp_path, monkeypatch)
    uri = register_champion(location, trained, f"serving-{task}")

    served, _ = pyfunc_in_blocked_process(
        tmp_path, client_env(tmp_path, location), uri, trained.rows
    )

    assert_same(served, trained)
    if task == "multiclass":
        labels = json.loads(trained.model.with_name(LABELS_FILE).read_text())
        assert set(served) <= set(labels)


def test_the_served_inputs_are_the_ones_the_package_makes_for_the_same_rows():
    """pyfunc_model (which cannot import the package) and preprocessing.raw_inputs turn the
    same raw rows into the same encoded features: text, blanks, None, NaN, unseen values."""
    import keras

    from mlops_assets.modeling.preprocessing import preprocessing, raw_inputs
    from mlops_assets.records import Column
    from mlops_assets.tracking import pyfunc_model

    columns = [
        Column("colour name", "categorical", "string", 0.1, fill="red"),
        Column("code", "categorical", "integer", 0.1, fill=3),
        Column("size", "numeric", "float", 0.1, fill=2.0, missing_indicator=True),
    ]
    train = pd.DataFrame(
        {"colour name": ["red", "red", "blue"], "code": [3, 3, 5], "size": [1.0, 2.0, 3.0]}
    )
    inputs, encoded = preprocessing(columns, train)
    model = keras.Model(inputs, encoded)
    rows = pd.DataFrame(
        {
            "colour name": ["blue", "", "  ", "green", None, np.nan],
            "code": [5, np.nan, 7, 3, 3, None],
            "size": [1, None, 3, 2, 2, 7],
            "unused": ["x"] * 6,
        }
    )
    ours = model.predict(raw_inputs(model, rows), verbose=0)
    served = model.predict(pyfunc_model.model_inputs(model, rows), verbose=0)
    np.testing.assert_array_equal(served, ours)
    with pytest.raises(ValueError, match="missing column\\(s\\) 'code'"):
        pyfunc_model.model_inputs(model, rows.drop(columns=["code"]))
    with pytest.raises(ValueError, match="column 'size' must hold numbers"):
        pyfunc_model.model_inputs(model, rows.assign(size=["big"] * len(rows)))


def test_each_task_gets_its_documented_prediction():
    from mlops_assets.tracking.pyfunc_model import predictions

    assert predictions("regression", np.array([[1.5], [2.5]]), None).tolist() == [1.5, 2.5]
    binary = predictions("binary_classification", np.array([[0.2], [0.9]]), ["no", "yes"])
    assert binary.tolist() == [0.2, 0.9]  # the probability of "yes"
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    assert predictions("multiclass_classification", scores, ["a", "b", "c"]).tolist() == [
        "b",
        "a",
    ]


# --- mlflow models serve -----------------------------------------------------------------


def wait_for_ping(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mlflow models serve exited:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"mlflow models serve not up in {SERVE_TIMEOUT}s:\n{log.read_text()}")


def post(port: int, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def dataframe_split(rows: pd.DataFrame) -> dict:
    """``rows`` as a client sends them: JSON values, ``null`` for a gap."""
    data = [[None if pd.isna(v) else v for v in row] for row in rows.astype(object).values]
    return {"dataframe_split": {"columns": list(rows.columns), "data": data}}


@pytest.mark.pipeline
@pytest.mark.parametrize("kind", ["embedded", "mlflow3", "dagshub"])
def test_mlflow_models_serve_answers_raw_rows_with_gaps_and_unseen_categories(
    kind, binary, tmp_path, monkeypatch, request
):
    location = store(kind, request, tmp_path, monkeypatch)
    uri = register_champion(location, binary, f"serving-rest-{kind}")
    port = free_port()
    command = ["mlflow", "models", "serve", "-m", uri, "--env-manager", "local",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log = tmp_path / "serve.log"
    env = client_env(tmp_path, location)
    with process_group(command, env, log, cwd=outside(tmp_path), grace=10) as server:
        wait_for_ping(port, server, log)
        rows = pd.read_csv(binary.rows)
        body = dataframe_split(rows)
        assert None in body["dataframe_split"]["data"][-3]  # a gap sent as null
        assert "NEVER-SEEN" in body["dataframe_split"]["data"][-3]  # and a category never seen
        status, answer = post(port, body)
        missing_status, missing = post(port, dataframe_split(rows.drop(columns=["ST_Slope"])))

    assert status == 200, answer
    assert_same(json.loads(answer)["predictions"], binary)
    assert missing_status == 400 and "'ST_Slope'" in missing
    assert "import of mlops_assets halted" not in log.read_text()


# --- the documented snippets, as written ---------------------------------------------------

FENCE = re.compile(r"```(python|bash)\n(.*?)```", re.DOTALL)


def section_blocks(page: Path, heading: str) -> list[tuple[str, str]]:
    text = page.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return FENCE.findall(text[start : end if end > 0 else None])


def documented_snippets() -> tuple[list[str], list[str]]:
    """The python and bash blocks of lifecycle.md's serving section; the README's serving
    blocks must be copies of (parts of) them, so testing these tests the README's too."""
    docs = section_blocks(REPO / "docs" / "lifecycle.md", "## Serving the champion")
    readme = section_blocks(REPO / "README.md", "## Serving")
    assert readme and all(any(code in doc for _, doc in docs) for _, code in readme)
    python = [code for language, code in docs if language == "python"]
    bash = [code for language, code in docs if language == "bash"]
    return python, bash


def test_the_readme_and_docs_show_pyfunc_plain_keras_and_mlflow_models_serve():
    python, bash = documented_snippets()
    assert any("mlflow.pyfunc.load_model" in code for code in python)
    assert any("keras.saving.load_model" in code for code in python)
    assert any("mlflow models serve" in code and "/invocations" in code for code in bash)


@pytest.mark.pipeline
@pytest.mark.slow(reason="three fresh processes load TensorFlow and MLflow; one is a server")
def test_the_documented_serving_snippets_run_as_written(diabetes, tmp_path):
    """A project as the pipeline leaves it (data/diabetes.csv, artifacts/latest/model.keras,
    the champion in the embedded store mlflow.db), each snippet run from its directory in a
    process that cannot import mlops_assets."""
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    shutil.copy(SAMPLE_CSV, project / "data" / "diabetes.csv")
    (project / "artifacts" / "latest").mkdir(parents=True)
    shutil.copy(diabetes.model, project / "artifacts" / "latest" / MODEL_FILE)
    location = TrackingLocation(local_tracking_uri(project), "mlops-assets", "test")
    register_champion(location, diabetes, "mlops-assets")
    env = client_env(tmp_path, location)
    del env["MLFLOW_TRACKING_URI"]  # the snippets say where the registry is

    from mlops_assets.modeling.keras_model import load_model, predict

    rows = pd.read_csv(SAMPLE_CSV).drop(columns=["target"])
    expected = predict(load_model(diabetes.model), rows)
    python, bash = documented_snippets()
    for code in python:
        shown = "\nimport json, numpy\nprint('PREDICTIONS', json.dumps("
        shown += "numpy.asarray(predictions).ravel().tolist()))\n"
        done = subprocess.run(
            [sys.executable, "-c", code + shown],
            env=env,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{code}\n{done.stderr[-3000:]}"
        line = next(x for x in done.stdout.splitlines() if x.startswith("PREDICTIONS "))
        np.testing.assert_allclose(json.loads(line.split(" ", 1)[1]), expected, atol=1e-5)

    [script] = bash
    port = str(free_port())
    script = script.replace("5001", port)
    exports = dict(re.findall(r"^export (\w+)=(\S+)$", script, re.MULTILINE))
    serve = next(line for line in script.splitlines() if line.startswith("mlflow models serve"))
    curl = script[script.index("curl ") :]
    served_env = {**env, **exports}
    log = tmp_path / "serve.log"
    command = ["bash", "-c", "exec " + serve.removesuffix("&").strip()]
    with process_group(command, served_env, log, cwd=project, grace=10) as server:
        wait_for_ping(int(port), server, log)
        answer = subprocess.run(
            ["bash", "-c", curl], env=served_env, capture_output=True, text=True, timeout=120
        )
    assert answer.returncode == 0, answer.stderr
    predictions = json.loads(answer.stdout)["predictions"]
    body = json.loads(curl[curl.index("'{") + 1 : curl.rindex("}'") + 1])["dataframe_split"]
    sent = pd.DataFrame(body["data"], columns=body["columns"])
    assert len(predictions) == len(sent) == 2
    np.testing.assert_allclose(predictions, predict(load_model(diabetes.model), sent), atol=1e-5)
