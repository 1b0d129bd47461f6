"""GitHub mode of the sensor: PyGithub over HTTP to a minimal GitHub REST stand-in on loopback.

The stand-in answers only the one endpoint the sensor polls; the project's fuller fake GitHub
server can replace it.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import DagsterInstance, build_sensor_context

from mlops_assets import run_tags
from mlops_assets.defs.sensors import github_pull_requests_sensor, read_cursor

TOKEN = "ghs_test-token-never-shown"


class PullsServer:
    """Serves ``GET /repos/<owner>/<name>/pulls`` from ``self.pulls``; records each request."""

    def __init__(self):
        self.pulls: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Authorization", "")))
                if not self.path.startswith("/repos/octo/model/pulls?"):
                    self.send_error(404)
                    return
                body = json.dumps(server.pulls).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def open_pr(self, number: int, sha: str, branch: str):
        self.pulls = [p for p in self.pulls if p["number"] != number]
        self.pulls.append(
            {
                "number": number,
                "state": "open",
                "url": f"{self.url}/repos/octo/model/pulls/{number}",
                "head": {"sha": sha, "ref": branch},
                "base": {"sha": "0" * 40, "ref": "main"},
            }
        )

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def github(monkeypatch):
    server = PullsServer()
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/model")
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        yield instance


def tick(instance, cursor=None):
    return github_pull_requests_sensor(build_sensor_context(instance=instance, cursor=cursor))


def test_one_run_per_pull_request_head_tagged_with_its_number(github, instance):
    github.open_pr(7, "a" * 40, "feature/more-data")
    github.open_pr(9, "b" * 40, "fix/params")

    first = tick(instance)

    assert sorted(r.run_key for r in first.run_requests) == [f"pr-7-{'a' * 40}", f"pr-9-{'b' * 40}"]
    by_pr = {r.tags[run_tags.PR_NUMBER]: r.tags for r in first.run_requests}
    assert (
        by_pr["7"][run_tags.COMMIT] == "a" * 40
        and by_pr["7"][run_tags.BRANCH] == "feature/more-data"
    )
    path, auth = github.requests[0]
    assert "state=open" in path and auth.endswith(TOKEN)

    again = tick(instance, first.cursor)
    assert (
        again.run_requests == []
        and "no new head commit on 2 open PR(s)" in again.skip_reason.skip_message
    )

    github.open_pr(7, "c" * 40, "feature/more-data")  # a push to PR 7
    github.pulls = [p for p in github.pulls if p["number"] == 7]  # PR 9 closed
    pushed = tick(instance, again.cursor)
    assert [r.run_key for r in pushed.run_requests] == [f"pr-7-{'c' * 40}"]
    assert read_cursor(pushed.cursor) == {"7": "c" * 40}


def test_without_a_token_github_mode_is_off(monkeypatch, instance):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)

    result = tick(instance)

    assert "GitHub mode is off: set GITHUB_TOKEN" in result.skip_message


def test_an_api_error_is_a_skip_that_names_the_repository_but_not_the_token(github, instance):
    github.status = 401

    result = tick(instance, '{"7": "abc"}')

    assert "octo/model" in result.skip_message and "HTTP 401" in result.skip_message
    assert TOKEN not in result.skip_message


def test_a_malformed_repository_name_is_a_skip(github, instance, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", "just-a-name")

    assert "GITHUB_REPOSITORY='just-a-name': expected owner/name" in tick(instance).skip_message
