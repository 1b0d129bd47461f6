"""What GitHub Actions tells a step about itself, and where the report should go.

Pure: the standard ``GITHUB_*`` variables and the event payload in, a ``CommentThread`` out.
Pushes need an API call to find their pull request; that lives in ``sticky_comment.py``.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_assets.settings import DEFAULT_GITHUB_API_URL

DEFAULT_SERVER_URL = "https://github.com"
PULL_REQUEST_REF = re.compile(r"refs/pull/(\d+)/(?:merge|head)")
PULL_REQUEST_EVENTS = {"pull_request", "pull_request_target", "pull_request_review"}


class ThreadError(ValueError):
    """A ``comment_on`` setting or an event payload that cannot say where to post."""


@dataclass(frozen=True)
class CommentThread:
    """A pull request, an issue or a commit: what a comment hangs on."""

    kind: str  # "pr", "issue" or "commit"
    id: str  # the number, or the commit SHA

    @property
    def number(self) -> int:
        return int(self.id)

    def __str__(self) -> str:
        return {"pr": "pull request #", "issue": "issue #", "commit": "commit "}[self.kind] + (
            self.id if self.kind != "commit" else self.id[:12]
        )


def parse_thread(text: str) -> "CommentThread | None":
    """``pr/N``, ``issue/N`` or ``commit/SHA``; ``auto`` (or empty) means decide from the event."""
    text = text.strip()
    if text in ("", "auto"):
        return None
    match = re.fullmatch(r"(pr|issue)/([1-9][0-9]*)|(commit)/([0-9a-fA-F]{7,40})", text)
    if not match:
        raise ThreadError(
            f"comment_on {text!r} is not one of auto, local, pr/<number>, issue/<number>, "
            "commit/<sha>"
        )
    if match.group(1):
        return CommentThread(match.group(1), match.group(2))
    return CommentThread("commit", match.group(4).lower())


@dataclass(frozen=True)
class CIContext:
    """The GitHub Actions variables the report uses; all optional outside CI."""

    repository: str = ""
    event_name: str = ""
    event_path: str = ""
    sha: str = ""
    ref: str = ""
    api_url: str = DEFAULT_GITHUB_API_URL
    server_url: str = DEFAULT_SERVER_URL
    run_id: str = ""
    workflow: str = ""
    step_summary: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "CIContext":
        return cls(
            repository=env.get("GITHUB_REPOSITORY", ""),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event_path=env.get("GITHUB_EVENT_PATH", ""),
            sha=env.get("GITHUB_SHA", ""),
            ref=env.get("GITHUB_REF", ""),
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_GITHUB_API_URL).rstrip("/"),
            server_url=(env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
            run_id=env.get("GITHUB_RUN_ID", ""),
            workflow=env.get("GITHUB_WORKFLOW", ""),
            step_summary=env.get("GITHUB_STEP_SUMMARY", ""),
        )

    @property
    def run_url(self) -> str | None:
        if not (self.repository and self.run_id):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def commit_url(self, sha: str) -> str | None:
        return f"{self.server_url}/{self.repository}/commit/{sha}" if self.repository else None

    def event_payload(self) -> dict:
        """The webhook payload of the triggering event; empty when there is none."""
        if not self.event_path:
            return {}
        path = Path(self.event_path)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ThreadError(
                f"cannot read the event payload GITHUB_EVENT_PATH={path}: {error}"
            ) from error


def pull_request_number(ref: str) -> str | None:
    """The pull request a ``GITHUB_REF`` such as ``refs/pull/7/merge`` belongs to."""
    match = PULL_REQUEST_REF.fullmatch(ref)
    return match.group(1) if match else None


def base_branch(env: Mapping[str, str]) -> str:
    """The branch a run is compared against: a pull request's base, else ``main``. A CI fact,
    not a git one: git has no notion of a base branch, GitHub names it (``GITHUB_BASE_REF``)."""
    return env.get("GITHUB_BASE_REF") or "main"


def event_thread(ci: CIContext, payload: Mapping) -> CommentThread | None:
    """The pull request or issue the event is about; None when the event names neither (a push,
    a schedule), so the commit's pull request has to be looked up."""
    if ci.event_name in PULL_REQUEST_EVENTS:
        number = (payload.get("pull_request") or {}).get("number") or payload.get("number")
        number = number or pull_request_number(ci.ref)
        if not number:
            raise ThreadError(
                f"the {ci.event_name} event has no pull request number: neither the payload "
                f"GITHUB_EVENT_PATH={ci.event_path or '(unset)'} "
                f"nor GITHUB_REF={ci.ref!r} names one"
            )
        return CommentThread("pr", str(number))
    if ci.event_name == "issue_comment" and payload.get("issue", {}).get("number"):
        kind = "pr" if payload["issue"].get("pull_request") else "issue"
        return CommentThread(kind, str(payload["issue"]["number"]))
    return None


def from_fork(ci: CIContext, payload: Mapping) -> bool:
    """A ``pull_request`` from a fork runs with a read-only token: posting would get a 403."""
    pull = payload.get("pull_request") or {}
    head = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((pull.get("base") or {}).get("repo") or {}).get("full_name")
    return ci.event_name == "pull_request" and bool(head and base and head != base)


def commit_sha(ci: CIContext, payload: Mapping) -> str:
    """The commit the report is about: a pull request's head, not the merge commit GITHUB_SHA."""
    head = (payload.get("pull_request") or {}).get("head") or {}
    return head.get("sha") or ci.sha
