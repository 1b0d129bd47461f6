"""A small fake of GitHub's REST API: a real HTTP server on 127.0.0.1 for real PyGithub clients.

Only what mlops-assets uses: issue and commit comments (list with Link pagination, create,
edit), a commit's pull requests, the Git Data API (refs, commits, trees, blobs), check runs
(create, list for a commit), and for ChatOps a collaborator's permission, reactions on issue
comments and pull requests' head and base repositories (``add_pull(head_repo=...)`` makes a
fork). Knobs:

- ``fail(status, ...)`` injects 5xx/429/403 answers (with ``Retry-After`` or any headers),
- ``prefix="/api/v3"`` serves a GitHub Enterprise-style base path,
- ``max_per_page`` caps page sizes as GitHub does (100),
- ``requests`` records every call (method, path, query, body) for assertions;
  ``check_runs(sha)`` lists the check runs created on a commit.

Use the ``fake_github`` fixture, then ``fake.actions_env(...)`` for the GITHUB_* variables.
"""

import base64
import hashlib
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

TOKEN = "ghs_fakeTokenForTests0123456789abcdef"


@dataclass
class Fault:
    status: int
    method: str | None
    path: re.Pattern
    times: int | None  # None: forever
    headers: dict[str, str]
    message: str


@dataclass
class Recorded:
    method: str
    path: str  # without the prefix
    query: dict[str, str]
    body: dict | None
    status: int = 0


@dataclass
class Comment:
    id: int
    thread: tuple[str, str]  # ("issue", "7") or ("commit", sha)
    body: str
    user: str = "github-actions[bot]"


@dataclass
class CheckRun:
    """A check run as created: the fields GitHub stores from the POST body."""

    id: int
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    output: dict = field(default_factory=dict)  # title, summary, text
    details_url: str | None = None
    external_id: str | None = None


CHECK_STATUSES = {"queued", "in_progress", "completed"}
CHECK_CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
}
CHECK_OUTPUT_LIMIT = 65_535  # characters of output.summary and output.text
REACTIONS = {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}


@dataclass
class State:
    pulls: dict[int, dict] = field(default_factory=dict)  # number -> {state, head_sha}
    issues: set[int] = field(default_factory=set)
    comments: dict[int, Comment] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "heads/x" -> commit sha
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # sha -> {path: blob sha}
    commits: dict[str, dict] = field(default_factory=dict)  # sha -> {tree, parents, message}
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)  # login -> admin/write/read/none
    reactions: list[tuple[int, str]] = field(default_factory=list)  # (comment id, content)


def _sha(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class FakeGitHub:
    """The server and its state; ``url`` is the API base to give PyGithub."""

    def __init__(
        self,
        *,
        repository: str = "octo/retrain",
        token: str = TOKEN,
        prefix: str = "",
        max_per_page: int = 100,
    ):
        self.repository = repository
        self.token = token
        self.prefix = prefix.rstrip("/")
        self.max_per_page = max_per_page
        self.state = State()
        self.requests: list[Recorded] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "FakeGitHub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeGitHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.host + self.prefix

    @property
    def server_url(self) -> str:
        """What GITHUB_SERVER_URL would be (html links)."""
        return self.host

    # -- knobs and fixtures ----------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        method: str | None = None,
        path: str = ".*",
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests (``path`` is a regex searched in the path
        without the prefix) with ``status``."""
        default = {
            401: "Bad credentials",
            403: "Resource not accessible by integration",
            429: "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again.",
        }.get(status, "Server Error")
        self._faults.append(
            Fault(status, method, re.compile(path), times, headers or {}, message or default)
        )

    def add_pull(
        self,
        number: int,
        head_sha: str,
        state: str = "open",
        *,
        head_repo: str | None = None,
        head_ref: str | None = None,
        base_ref: str = "main",
    ) -> None:
        """A pull request; ``head_repo`` another repository's name makes it a fork's (an empty
        string: a fork since deleted, whose ``head.repo`` GitHub reports as null)."""
        with self._lock:
            self.state.pulls[number] = {
                "state": state,
                "head_sha": head_sha,
                "head_repo": self.repository if head_repo is None else head_repo,
                "head_ref": head_ref or f"branch-{number}",
                "base_ref": base_ref,
            }
            self.state.issues.add(number)

    def set_permission(self, login: str, permission: str) -> None:
        """What ``GET /collaborators/{login}/permission`` answers (unknown logins: 404)."""
        with self._lock:
            self.state.permissions[login] = permission

    def add_comment(self, kind: str, id: str | int, body: str, user: str) -> int:
        """One comment by ``user``; its id (for an ``issue_comment`` event's payload)."""
        with self._lock:
            cid = next(self._ids)
            self.state.comments[cid] = Comment(cid, (kind, str(id)), body, user)
            return cid

    def reactions_on(self, comment_id: int) -> list[str]:
        with self._lock:
            return [content for cid, content in self.state.reactions if cid == comment_id]

    def add_issue(self, number: int) -> None:
        with self._lock:
            self.state.issues.add(number)

    def add_comments(self, kind: str, id: str | int, bodies: list[str]) -> None:
        with self._lock:
            for body in bodies:
                cid = next(self._ids)
                self.state.comments[cid] = Comment(cid, (kind, str(id)), body)

    def comments_on(self, kind: str, id: str | int) -> list[Comment]:
        with self._lock:
            return [c for c in self.state.comments.values() if c.thread == (kind, str(id))]

    def check_runs(self, sha: str, name: str | None = None) -> list[CheckRun]:
        """Every check run created on ``sha`` (optionally of one ``name``), oldest first."""
        with self._lock:
            return [
                run
                for run in self.state.check_runs.values()
                if run.head_sha == sha and name in (None, run.name)
            ]

    def calls(self, method: str, pattern: str = ".*") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def file_on_branch(self, branch: str, path: str) -> bytes:
        commit = self.state.commits[self.state.refs[f"heads/{branch}"]]
        return self.state.blobs[self.state.trees[commit["tree"]][path]]

    def actions_env(
        self,
        tmp_path: Path,
        *,
        event_name: str = "push",
        payload: dict | None = None,
        sha: str = "a" * 40,
        token: str | None = None,
        workflow: str = "retrain",
    ) -> dict[str, str]:
        """The variables GitHub Actions sets for a step, pointing at this server."""
        event = tmp_path / "event.json"
        event.write_text(json.dumps(payload or {}))
        summary = tmp_path / "step_summary.md"
        summary.touch()
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_TOKEN": self.token if token is None else token,
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": sha,
            "GITHUB_REF": "refs/heads/feature",
            "GITHUB_API_URL": self.url,
            "GITHUB_SERVER_URL": self.server_url,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_WORKFLOW": workflow,
            "GITHUB_STEP_SUMMARY": str(summary),
        }

    # -- request handling ------------------------------------------------------------------

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (fault.method in (None, method)) and fault.path.search(path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def handle(self, method: str, raw_path: str, headers, body: dict | None):
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        path = split.path
        record = Recorded(method, path, query, body)
        self.requests.append(record)
        if not path.startswith(self.prefix + "/"):
            return self._answer(record, 404, {"message": "Not Found"})
        path = record.path = path[len(self.prefix) :]
        auth = headers.get("Authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return self._answer(record, 401, {"message": "Bad credentials"})
        fault = self._fault_for(method, path)
        if fault:
            return self._answer(record, fault.status, {"message": fault.message}, fault.headers)
        repo = f"/repos/{self.repository}"
        if path == repo and method == "GET":
            return self._answer(record, 200, self._repo_json())
        if not path.startswith(repo + "/"):
            return self._answer(record, 404, {"message": "Not Found"})
        with self._lock:
            return self._route(record, method, path[len(repo) :], query, body or {})

    def _route(self, record, method, path, query, body):
        if m := re.fullmatch(r"/(issues|commits)/([^/]+)/comments", path):
            kind = "issue" if m[1] == "issues" else "commit"
            if kind == "issue" and int(m[2]) not in self.state.issues:
                return self._answer(record, 404, {"message": "Not Found"})
            thread = (kind, m[2])
            if method == "GET":
                items = [c for c in self.state.comments.values() if c.thread == thread]
                return self._page(record, path, query, [self._comment_json(c) for c in items])
            if method == "POST":
                cid = next(self._ids)
                self.state.comments[cid] = Comment(cid, thread, body["body"])
                return self._answer(record, 201, self._comment_json(self.state.comments[cid]))
        if (m := re.fullmatch(r"/(issues/comments|comments)/(\d+)", path)) and method == "PATCH":
            comment = self.state.comments.get(int(m[2]))
            if comment is None:
                return self._answer(record, 404, {"message": "Not Found"})
            comment.body = body["body"]
            return self._answer(record, 200, self._comment_json(comment))
        if (m := re.fullmatch(r"/issues/comments/(\d+)/reactions", path)) and method == "POST":
            if int(m[1]) not in self.state.comments:
                return self._answer(record, 404, {"message": "Not Found"})
            if body.get("content") not in REACTIONS:
                return self._answer(record, 422, {"message": "Validation Failed"})
            reaction = (int(m[1]), body["content"])
            existed = reaction in self.state.reactions  # GitHub: one of a kind per user, 200
            if not existed:
                self.state.reactions.append(reaction)
            answer = {"id": 1, "content": body["content"], "user": {"login": "github-actions"}}
            return self._answer(record, 200 if existed else 201, answer)
        if (m := re.fullmatch(r"/collaborators/([^/]+)/permission", path)) and method == "GET":
            permission = self.state.permissions.get(m[1])
            if permission is None:
                return self._answer(record, 404, {"message": f"{m[1]} is not a user"})
            role = {"write": "write", "admin": "admin", "read": "read"}.get(permission, permission)
            legacy = "write" if permission == "maintain" else permission  # GitHub's mapping
            legacy = "read" if permission == "triage" else legacy
            answer = {"permission": legacy, "role_name": role, "user": {"login": m[1]}}
            return self._answer(record, 200, answer)
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/pulls", path)) and method == "GET":
            pulls = [
                self._pull_json(n) for n, p in self.state.pulls.items() if p["head_sha"] == m[1]
            ]
            return self._page(record, path, query, pulls)
        if (m := re.fullmatch(r"/(pulls|issues)/(\d+)", path)) and method == "GET":
            number = int(m[2])
            if number not in (self.state.pulls if m[1] == "pulls" else self.state.issues):
                return self._answer(record, 404, {"message": "Not Found"})
            return self._answer(record, 200, self._pull_json(number))
        if path == "/check-runs" and method == "POST":
            return self._create_check_run(record, body)
        if (m := re.fullmatch(r"/commits/([0-9a-f]{40})/check-runs", path)) and method == "GET":
            runs = [r for r in self.state.check_runs.values() if r.head_sha == m[1]]
            runs = [r for r in runs if query.get("check_name") in (None, r.name)]
            runs = [r for r in runs if query.get("status") in (None, r.status)]
            if query.get("filter", "latest") == "latest":  # GitHub's default: newest per name
                runs = list({r.name: r for r in runs}.values())
            runs.sort(key=lambda r: -r.id)
            items = [self._check_run_json(r) for r in runs]
            return self._object_page(record, path, query, "check_runs", items)
        if path.startswith("/git/"):
            return self._git(record, method, path[len("/git/") :], body)
        return self._answer(record, 404, {"message": "Not Found"})

    def _create_check_run(self, record, body):
        """Validates what GitHub validates (422), then stores the run and answers 201."""
        output = body.get("output") or {}
        problem = None
        if not body.get("name") or not body.get("head_sha"):
            problem = "name and head_sha are required"
        elif not re.fullmatch(r"[0-9a-f]{40}", body["head_sha"]):
            problem = f"No commit found for SHA: {body['head_sha']}"
        elif body.get("status", "queued") not in CHECK_STATUSES:
            problem = f"Invalid status: {body['status']}"
        elif body.get("conclusion") is not None and body["conclusion"] not in CHECK_CONCLUSIONS:
            problem = f"Invalid conclusion: {body['conclusion']}"
        elif body.get("status") == "completed" and not body.get("conclusion"):
            problem = "conclusion is required when status is completed"
        elif output and not (output.get("title") and output.get("summary")):
            problem = "output needs a title and a summary"
        elif any(len(output.get(k) or "") > CHECK_OUTPUT_LIMIT for k in ("summary", "text")):
            problem = f"output summary and text are limited to {CHECK_OUTPUT_LIMIT} characters"
        if problem:
            return self._answer(record, 422, {"message": f"Invalid request. {problem}"})
        conclusion = body.get("conclusion")
        run = CheckRun(
            id=next(self._ids),
            name=body["name"],
            head_sha=body["head_sha"],
            status="completed" if conclusion else body.get("status", "queued"),
            conclusion=conclusion,
            output={k: output.get(k) for k in ("title", "summary", "text")},
            details_url=body.get("details_url"),
            external_id=body.get("external_id"),
        )
        self.state.check_runs[run.id] = run
        return self._answer(record, 201, self._check_run_json(run))

    def _git(self, record, method, path, body):
        s = self.state
        if (m := re.fullmatch(r"refs?/(heads/.+)", path)) and method == "GET":
            if m[1] not in s.refs:
                return self._answer(record, 404, {"message": "Not Found"})
            return self._answer(record, 200, self._ref_json(m[1]))
        if (m := re.fullmatch(r"refs/(heads/.+)", path)) and method == "PATCH":
            old, new = s.refs.get(m[1]), body["sha"]
            if old is None:
                return self._answer(record, 422, {"message": "Reference does not exist"})
            if not body.get("force") and old not in s.commits[new]["parents"]:
                return self._answer(record, 422, {"message": "Update is not a fast forward"})
            s.refs[m[1]] = new
            return self._answer(record, 200, self._ref_json(m[1]))
        if path == "refs" and method == "POST":
            name = body["ref"].removeprefix("refs/")
            if name in s.refs:
                return self._answer(record, 422, {"message": "Reference already exists"})
            s.refs[name] = body["sha"]
            return self._answer(record, 201, self._ref_json(name))
        if path == "blobs" and method == "POST":
            data = (
                base64.b64decode(body["content"])
                if body.get("encoding") == "base64"
                else (body["content"].encode())
            )
            sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            s.blobs[sha] = data
            return self._answer(record, 201, {"sha": sha, "url": self._api(f"git/blobs/{sha}")})
        if path == "trees" and method == "POST":
            entries = dict(s.trees.get(body.get("base_tree") or "", {}))
            for element in body["tree"]:
                if element.get("sha") not in s.blobs:
                    return self._answer(record, 422, {"message": "tree.sha is not a blob"})
                entries[element["path"]] = element["sha"]
            sha = _sha("tree", entries)
            s.trees[sha] = entries
            return self._answer(record, 201, self._tree_json(sha))
        if path == "commits" and method == "POST":
            if body["tree"] not in s.trees:
                return self._answer(record, 422, {"message": "Tree not found"})
            sha = _sha("commit", body, next(self._ids))
            s.commits[sha] = {
                "tree": body["tree"],
                "parents": body["parents"],
                "message": body["message"],
            }
            return self._answer(record, 201, self._commit_json(sha))
        if (m := re.fullmatch(r"commits/([0-9a-f]{40})", path)) and method == "GET":
            if m[1] not in s.commits:
                return self._answer(record, 404, {"message": "Not Found"})
            return self._answer(record, 200, self._commit_json(m[1]))
        return self._answer(record, 404, {"message": "Not Found"})

    # -- JSON shapes (the fields PyGithub reads) ---------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.url}/repos/{self.repository}/{path}"

    def _repo_json(self) -> dict:
        owner, name = self.repository.split("/")
        return {
            "id": 1,
            "name": name,
            "full_name": self.repository,
            "owner": {"login": owner},
            "url": f"{self.url}/repos/{self.repository}",
            "html_url": f"{self.server_url}/{self.repository}",
            "private": True,
            "default_branch": "main",
        }

    def _comment_json(self, c: Comment) -> dict:
        kind, id = c.thread
        if kind == "issue":
            url, html = self._api(f"issues/comments/{c.id}"), f"pull/{id}#issuecomment-{c.id}"
        else:
            url, html = self._api(f"comments/{c.id}"), f"commit/{id}#commitcomment-{c.id}"
        return {
            "id": c.id,
            "body": c.body,
            "url": url,
            "html_url": f"{self.server_url}/{self.repository}/{html}",
            "user": {"login": c.user},
        }

    def _pull_json(self, number: int) -> dict:
        pull = self.state.pulls.get(number, {"state": "open", "head_sha": ""})
        head_repo = pull.get("head_repo", self.repository)
        return {
            "number": number,
            "state": pull["state"],
            "head": {
                "sha": pull["head_sha"],
                "ref": pull.get("head_ref", f"branch-{number}"),
                "repo": {"full_name": head_repo, "name": head_repo.split("/")[-1]}
                if head_repo
                else None,
            },
            "base": {
                "ref": pull.get("base_ref", "main"),
                "repo": {"full_name": self.repository, "name": self.repository.split("/")[1]},
            },
            "url": self._api(f"pulls/{number}"),
            "issue_url": self._api(f"issues/{number}"),
            "html_url": f"{self.server_url}/{self.repository}/pull/{number}",
        }

    def _ref_json(self, name: str) -> dict:
        sha = self.state.refs[name]
        return {
            "ref": f"refs/{name}",
            "url": self._api(f"git/refs/{name}"),
            "object": {"sha": sha, "type": "commit", "url": self._api(f"git/commits/{sha}")},
        }

    def _tree_json(self, sha: str) -> dict:
        entries = self.state.trees[sha]
        return {
            "sha": sha,
            "url": self._api(f"git/trees/{sha}"),
            "tree": [
                {"path": p, "mode": "100644", "type": "blob", "sha": b} for p, b in entries.items()
            ],
        }

    def _commit_json(self, sha: str) -> dict:
        commit = self.state.commits[sha]
        return {
            "sha": sha,
            "url": self._api(f"git/commits/{sha}"),
            "message": commit["message"],
            "tree": {"sha": commit["tree"], "url": self._api(f"git/trees/{commit['tree']}")},
            "parents": [
                {"sha": p, "url": self._api(f"git/commits/{p}")} for p in commit["parents"]
            ],
        }

    def _check_run_json(self, run: CheckRun) -> dict:
        now = "2024-01-01T00:00:00Z"
        return {
            "id": run.id,
            "node_id": f"CR_{run.id}",
            "name": run.name,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "details_url": run.details_url,
            "external_id": run.external_id or "",
            "url": self._api(f"check-runs/{run.id}"),
            "html_url": f"{self.server_url}/{self.repository}/runs/{run.id}",
            "started_at": now,
            "completed_at": now if run.status == "completed" else None,
            "output": {
                **run.output,
                "annotations_count": 0,
                "annotations_url": self._api(f"check-runs/{run.id}/annotations"),
            },
            "check_suite": {"id": 1},
            "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
            "pull_requests": [],
        }

    def _object_page(self, record, path, query, list_item, items):
        """A page of a list GitHub wraps in an object (``{"total_count": N, list_item: [...]}``),
        with a Link header that keeps the filters."""
        per_page = min(int(query.get("per_page", 30)), self.max_per_page)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        headers = {}
        if page < last:
            kept = "".join(f"{k}={v}&" for k, v in query.items() if k not in ("page", "per_page"))
            link = f"{self.url}/repos/{self.repository}{path}?{kept}per_page={per_page}&page="
            headers["Link"] = f'<{link}{page + 1}>; rel="next", <{link}{last}>; rel="last"'
        payload = {
            "total_count": len(items),
            list_item: items[(page - 1) * per_page : page * per_page],
        }
        return self._answer(record, 200, payload, headers)

    def _page(self, record, path, query, items):
        """GitHub-style pagination: ``per_page`` (capped), ``page`` and a Link header."""
        per_page = min(int(query.get("per_page", 30)), self.max_per_page)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        headers = {}
        if page < last:
            link = f"{self.url}/repos/{self.repository}{path}?per_page={per_page}&page="
            headers["Link"] = f'<{link}{page + 1}>; rel="next", <{link}{last}>; rel="last"'
        return self._answer(record, 200, items[(page - 1) * per_page : page * per_page], headers)

    @staticmethod
    def _answer(record: Recorded, status: int, payload, headers: dict | None = None):
        record.status = status
        return status, payload, headers or {}


def _handler(fake: FakeGitHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, payload, headers = fake.handle(self.command, self.path, self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, format, *args):  # keep test output clean
            pass

    return Handler


@pytest.fixture
def fake_github():
    """A started fake GitHub API on a free loopback port, stopped after the test."""
    with FakeGitHub() as fake:
        yield fake
