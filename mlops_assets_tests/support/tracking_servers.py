"""Real MLflow tracking servers on loopback for the tracking tests.

- ``mlflow3_server``: the current line (the one installed here) with ``--app-name basic-auth``, so
  ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` are exercised.
- ``dagshub_server``: ``mlflow==2.7.1`` (DagsHub's server line) from its own virtualenv, installed
  with pip from PyPI on first use and cached under ``~/.cache/mlops-assets/``, reached through a
  DagsHub-style proxy: ``<host>/<owner>/<repo>.mlflow/...`` with token auth, prefix stripped.

Every server binds to 127.0.0.1 on a free port and is stopped when its fixture ends.
"""

import base64
import contextlib
import fcntl
import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlops_assets_tests.support.processes import process_group

LEGACY_MLFLOW = "2.7.1"
# What mlflow 2.7.1 needs beside it to start on today's resolver (see DESIGN.md).
LEGACY_REQUIREMENTS = [f"mlflow=={LEGACY_MLFLOW}", "sqlalchemy<2.1", "flask<3", "werkzeug<3"]
CACHE_DIR = Path(os.environ.get("MLOPS_ASSETS_CACHE", Path.home() / ".cache" / "mlops-assets"))
START_TIMEOUT = (
    240  # seconds to answer /health: mlflow 3 imports itself twice, slow on a busy CI box
)
INSTALL_TIMEOUT = 1200  # seconds for pip to build the 2.7.1 environment on a fresh machine

ADMIN_USER = "admin"
ADMIN_PASSWORD = "not-the-default-3f9c"  # the auth app refuses to start with its default password
DAGSHUB_OWNER = "octo"
DAGSHUB_REPO = "retrain"
DAGSHUB_TOKEN = "dhtoken-5b1e0c7a9d2f4e68"  # searched for in logs: it must never appear


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"mlflow server exited with {process.returncode}:\n{log.read_text()}"
            )
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(
        f"mlflow server at {url} not healthy after {START_TIMEOUT}s:\n{log.read_text()}"
    )


@contextlib.contextmanager
def mlflow_server(
    command: list[str], workdir: Path, env: dict[str, str], port: int
) -> Iterator[str]:
    """Run ``mlflow server`` (in its own process group, gunicorn workers included) until exit."""
    log = workdir / "server.log"
    command = [*command, "--host", "127.0.0.1", "--port", str(port)]
    with process_group(command, env, log, cwd=workdir, grace=15) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, log)
        yield url


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server process: none of the client's tracking settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSHUB_"))}
    return {**env, **extra}


@dataclass(frozen=True)
class Mlflow3Server:
    url: str
    username: str
    password: str


@pytest.fixture(scope="session")
def mlflow3_server(tmp_path_factory) -> Iterator[Mlflow3Server]:
    """The current MLflow line with basic auth; its auth database lives in the temp dir."""
    workdir = tmp_path_factory.mktemp("mlflow3")
    auth_config = workdir / "basic_auth.ini"
    auth_config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{workdir / 'auth.db'}\n"
        f"admin_username = {ADMIN_USER}\n"
        f"admin_password = {ADMIN_PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    env = server_env(
        MLFLOW_AUTH_CONFIG_PATH=str(auth_config),
        MLFLOW_FLASK_SERVER_SECRET_KEY="tests-only-secret",
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",  # no job runner: less to start
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    command = [
        sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination", str(workdir / "artifacts"),
        "--workers", "1",
    ]  # fmt: skip
    with mlflow_server(command, workdir, env, free_port()) as url:
        cheapen_password_hash(workdir / "auth.db", ADMIN_USER, ADMIN_PASSWORD)
        yield Mlflow3Server(url, ADMIN_USER, ADMIN_PASSWORD)


def cheapen_password_hash(auth_db: Path, username: str, password: str) -> None:
    """The auth app checks the password on every request; its default scrypt hash costs about a
    second per request on a busy two-core CI box. A one-round hash keeps the check, not the cost."""
    import sqlite3

    from werkzeug.security import generate_password_hash

    cheap = generate_password_hash(password, method="pbkdf2:sha256:1")
    with contextlib.closing(sqlite3.connect(auth_db)) as db, db:
        db.execute("UPDATE users SET password_hash = ? WHERE username = ?", (cheap, username))


def legacy_mlflow_venv() -> Path:
    """``mlflow==2.7.1`` in its own virtualenv, built once and reused (a lock guards concurrent
    builds; a marker says the build finished). Skips only when pip cannot reach the index."""
    venv = CACHE_DIR / f"mlflow-{LEGACY_MLFLOW}-py{sys.version_info.major}{sys.version_info.minor}"
    done = venv / ".complete"
    if done.exists():
        return venv
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test session may be building it right now
        if done.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # a build that died half-way
        python = sys.executable
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
        install = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off",
             "--disable-pip-version-check", *LEGACY_REQUIREMENTS],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False,
        )  # fmt: skip
        if install.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            output = install.stdout + install.stderr
            unreachable = (
                "Could not find a version",
                "Failed to establish a new connection",
                "Temporary failure in name resolution",
                "No matching distribution",
            )
            if any(s in output for s in unreachable):
                pytest.skip(
                    f"pip cannot install {LEGACY_REQUIREMENTS} from the index:\n{output[-800:]}"
                )
            raise RuntimeError(f"installing {LEGACY_REQUIREMENTS} failed:\n{output[-3000:]}")
        done.write_text(" ".join(LEGACY_REQUIREMENTS) + "\n")
    return venv


class DagsHubProxy(BaseHTTPRequestHandler):
    """DagsHub's URL shape in front of a plain MLflow server: ``/<owner>/<repo>.mlflow/<path>`` is
    forwarded as ``/<path>`` when the request carries the token (as the basic-auth password, the
    way DagsHub's own client sends it, or as a bearer token)."""

    prefix = f"/{DAGSHUB_OWNER}/{DAGSHUB_REPO}.mlflow"
    upstream: tuple[str, int]
    token: str
    delay: float = 0.0  # seconds added to each request: a server across the internet (bench)
    reject: str | None = None  # upstream paths starting with this get a 503 (a failing store)

    def authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header.removeprefix("Bearer ") == self.token
        if header.startswith("Basic "):
            _, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
            return password == self.token
        return False

    def forward(self) -> None:
        if not self.path.startswith(self.prefix + "/"):
            return self.reply(404, b"Not Found")
        if not self.authorised():
            return self.reply(401, b"Unauthorized")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay)
        path = self.path.removeprefix(self.prefix)
        if self.reject and path.startswith(self.reject):
            return self.reply(503, b"Service Unavailable")
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")
        }
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(self.command, path, body, headers)
            response = connection.getresponse()
            self.reply(response.status, response.read(), response.getheader("Content-Type"))
        finally:
            connection.close()

    def reply(self, status: int, body: bytes, content_type: str | None = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    def log_message(self, *args) -> None:  # quiet
        pass


@contextlib.contextmanager
def dagshub_proxy(
    upstream_url: str, token: str, delay: float = 0.0, reject: str | None = None
) -> Iterator[str]:
    host, port = upstream_url.removeprefix("http://").split(":")
    settings = {"upstream": (host, int(port)), "token": token, "delay": delay, "reject": reject}
    handler = type("Proxy", (DagsHubProxy,), settings)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class DagsHubServer:
    host: str  # what ``dagshub_host`` is set to; runs go to <host>/<owner>/<repo>.mlflow
    owner: str
    repo: str
    token: str
    upstream: str  # the plain 2.7.1 server, for reading runs back without the proxy

    @property
    def tracking_uri(self) -> str:
        return f"{self.host}/{self.owner}/{self.repo}.mlflow"


@pytest.fixture(scope="session")
def dagshub_server(tmp_path_factory) -> Iterator[DagsHubServer]:
    """mlflow==2.7.1 (no logged-models API), behind a DagsHub-style prefix and token check."""
    venv = legacy_mlflow_venv()
    workdir = tmp_path_factory.mktemp("mlflow2")
    env = server_env(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")  # gunicorn
    command = [
        str(venv / "bin" / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination", str(workdir / "artifacts"),
        "--workers", "1",
    ]  # fmt: skip
    with (
        mlflow_server(command, workdir, env, free_port()) as upstream,
        dagshub_proxy(upstream, DAGSHUB_TOKEN) as host,
    ):
        yield DagsHubServer(host, DAGSHUB_OWNER, DAGSHUB_REPO, DAGSHUB_TOKEN, upstream)
