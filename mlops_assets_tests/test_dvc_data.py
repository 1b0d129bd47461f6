"""DVC-tracked data in raw_data: real git and DVC; a local directory remote and HTTP on loopback."""

import base64
import functools
import hashlib
import shutil
import socket
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from mlops_assets.defs.resources.dvc import DvcData
from mlops_assets.dvc.data import DvcDataError, read_dvc_file
from mlops_assets.redaction import redact_url
from mlops_assets_tests.conftest import SAMPLE_CSV, run_config

SAMPLE_MD5 = hashlib.md5(SAMPLE_CSV.read_bytes()).hexdigest()


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


class DvcProject:
    """A git + DVC checkout whose ``data/diabetes.csv`` is only in the remote: a fresh clone."""

    def __init__(self, tmp_path: Path):
        from dvc.repo import Repo

        self.root = tmp_path / "project"
        self.remote = tmp_path / "remote"
        self.csv = self.root / "data" / "diabetes.csv"
        self.csv.parent.mkdir(parents=True)
        self.remote.mkdir()
        shutil.copy(SAMPLE_CSV, self.csv)
        git(self.root, "init", "-q")
        with Repo.init(str(self.root)) as repo:
            self.set_remote("storage", str(self.remote), default=True)
            repo.add(str(self.csv))
            repo.push()
        git(self.root, "add", "-A")
        git(self.root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "data")
        self.csv.unlink()
        shutil.rmtree(self.root / ".dvc" / "cache")

    def set_remote(self, name: str, url: str, default: bool = False, **secret) -> None:
        """``dvc remote add``; ``secret`` options go to .dvc/config.local, as ``--local`` does."""
        from dvc.repo import Repo

        with Repo(str(self.root)) as repo:
            with repo.config.edit() as conf:
                conf["remote"][name] = {"url": url}
                if default:
                    conf["core"]["remote"] = name
            if secret:
                with repo.config.edit("local") as conf:
                    conf["remote"][name] = secret

    def materialize_raw_data(self, workspace, dvc: DvcData | None = None):
        workspace.resources["dvc"] = dvc or DvcData()
        return workspace.materialize(
            selection=["raw_data"], config=run_config(data={"path": str(self.csv)})
        )


@pytest.fixture
def project(tmp_path, monkeypatch) -> DvcProject:
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    return DvcProject(tmp_path)


class BasicAuthFiles(SimpleHTTPRequestHandler):
    """Serves a directory read-only behind HTTP basic auth, as DagsHub's ``.dvc`` endpoint does."""

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == "Basic " + base64.b64encode(b"ci:tok3n").decode():
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="dvc"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self):
        if self._authorised():
            super().do_GET()

    def do_HEAD(self):
        if self._authorised():
            super().do_HEAD()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_remote(project):
    """The project's remote directory over HTTP on loopback, user ``ci`` with token ``tok3n``."""
    handler = functools.partial(BasicAuthFiles, directory=str(project.remote.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{project.remote.name}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_raw_data_pulls_an_absent_dvc_tracked_csv_and_versions_it_by_the_dvc_md5(
    workspace, project
):
    from dvc.repo import Repo

    result = project.materialize_raw_data(workspace)

    [materialization] = result.asset_materializations_for_node("raw_data")
    recorded = read_dvc_file(project.csv.with_name("diabetes.csv.dvc")).md5
    assert recorded == SAMPLE_MD5
    assert materialization.tags["dagster/data_version"] == recorded
    assert materialization.metadata["dvc_md5"].value == recorded
    assert materialization.metadata["data_source"].value == "DVC, pulled from remote 'storage'"
    assert project.csv.read_bytes() == SAMPLE_CSV.read_bytes()
    with Repo(str(project.root)) as repo:
        assert repo.status() == {}  # DVC sees the pulled file as the tracked version

    again = project.materialize_raw_data(workspace)  # present now: nothing to pull
    [materialization] = again.asset_materializations_for_node("raw_data")
    assert materialization.metadata["data_source"].value == "DVC, workspace copy"

    project.csv.with_name("diabetes.csv.dvc").unlink()  # the same file, now plainly in git
    [materialization] = project.materialize_raw_data(workspace).asset_materializations_for_node(
        "raw_data"
    )
    assert materialization.metadata["data_source"].value == "git"
    assert "dvc_md5" not in materialization.metadata


def test_a_file_missing_from_the_remote_names_file_remote_and_commands(workspace, project):
    for entry in project.remote.iterdir():
        shutil.rmtree(entry)

    with pytest.raises(DvcDataError) as error:
        project.materialize_raw_data(workspace)

    message = str(error.value)
    assert str(project.csv) in message
    assert f"remote 'storage' ({project.remote})" in message
    assert "missing from the remote" in message
    assert "`dvc push data/diabetes.csv.dvc -r storage`" in message
    assert "`dvc pull data/diabetes.csv.dvc -r storage`" in message
    assert not project.csv.exists()
    assert not workspace.latest.exists()


def test_a_remote_directory_that_does_not_exist_is_unreachable(workspace, project):
    shutil.rmtree(project.remote)

    with pytest.raises(DvcDataError, match=r"unreachable \(directory .* does not exist\)"):
        project.materialize_raw_data(workspace)


def test_an_unreachable_http_remote_is_named_without_its_credentials(workspace, project):
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    project.set_remote("dagshub", f"http://user:s3cret-token@127.0.0.1:{port}/owner/repo.dvc")

    with pytest.raises(DvcDataError) as error:
        project.materialize_raw_data(workspace, DvcData(remote="dagshub"))

    message = str(error.value)
    assert f"remote 'dagshub' (http://127.0.0.1:{port}/owner/repo.dvc)" in message
    assert "unreachable (ClientConnectorError" in message
    assert "`dvc pull data/diabetes.csv.dvc -r dagshub`" in message
    assert "s3cret" not in message


def test_an_http_remote_with_basic_auth_is_pulled_with_the_local_credentials(
    workspace, project, http_remote
):
    project.set_remote("dagshub", http_remote, auth="basic", user="ci", password="tok3n")

    result = project.materialize_raw_data(workspace, DvcData(remote="dagshub"))

    [materialization] = result.asset_materializations_for_node("raw_data")
    assert materialization.metadata["data_source"].value == "DVC, pulled from remote 'dagshub'"
    assert materialization.tags["dagster/data_version"] == SAMPLE_MD5


def test_refused_credentials_say_how_to_set_them_without_showing_them(
    workspace, project, http_remote
):
    project.set_remote("dagshub", http_remote, auth="basic", user="ci", password="wr0ng-token")

    with pytest.raises(DvcDataError) as error:
        project.materialize_raw_data(workspace, DvcData(remote="dagshub"))

    message = str(error.value)
    assert "the remote refused the credentials (HTTP 401)" in message
    assert "`dvc remote modify --local dagshub password <token>`" in message
    assert "wr0ng-token" not in message


def test_no_configured_remote_says_how_to_add_one(workspace, project):
    from dvc.repo import Repo

    with Repo(str(project.root)) as repo, repo.config.edit() as conf:
        del conf["core"]["remote"]

    with pytest.raises(DvcDataError, match=r"no default DVC remote: run `dvc remote add -d"):
        project.materialize_raw_data(workspace)
    with pytest.raises(DvcDataError, match=r"DVC remote 'nope' is not configured .*storage"):
        project.materialize_raw_data(workspace, DvcData(remote="nope"))


def test_a_malformed_dvc_file_is_named(tmp_path):
    dvc_file = tmp_path / "x.csv.dvc"
    dvc_file.write_text(yaml.safe_dump({"outs": [{"path": "other.csv", "md5": "0" * 32}]}))

    with pytest.raises(DvcDataError, match=rf"{dvc_file}: not a DVC file .* `dvc add "):
        read_dvc_file(dvc_file)


def test_redact_url_drops_user_and_password_only():
    assert redact_url("https://u:tok@dagshub.com/o/r.dvc") == "https://dagshub.com/o/r.dvc"
    assert redact_url("http://u@127.0.0.1:8080/r.dvc") == "http://127.0.0.1:8080/r.dvc"
    assert redact_url("/srv/dvc-remote") == "/srv/dvc-remote"


def test_loading_the_code_location_does_not_import_dvc():
    code = "import sys, mlops_assets; print('dvc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
