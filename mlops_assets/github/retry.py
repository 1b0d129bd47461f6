"""Calls to GitHub that survive 5xx, 429 and rate limits, bounded in time, and errors that say
what to fix.

The whole operation is retried (list, then edit or create), not a single HTTP request: after a
502 on a POST the comment may exist, and searching again for the marker keeps it sticky.
"""

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class GitHubPublishError(RuntimeError):
    """GitHub refused or kept failing; the message says what to change."""


class GitHubUnavailable(GitHubPublishError):
    """GitHub kept answering 5xx (or asked to wait) beyond the retry budget: nothing to fix
    here but waiting, so the run keeps its results and the report stays local."""


@dataclass(frozen=True)
class RetryPolicy:
    budget_seconds: float = 60.0  # from the first attempt to the last retry
    base_delay: float = 1.0
    max_delay: float = 20.0


def _header(error: Exception, name: str) -> str | None:
    headers = getattr(error, "headers", None) or {}
    return next((str(v) for k, v in headers.items() if k.lower() == name), None)


def _message(error: Exception) -> str:
    data = getattr(error, "data", None)
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return str(getattr(error, "message", None) or type(error).__name__)


def _retry_after(error: Exception, now: float) -> float | None:
    """Seconds GitHub asked us to wait: ``Retry-After`` (seconds or a date), or the reset time
    of an exhausted rate limit."""
    value = _header(error, "retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            return None
    if _header(error, "x-ratelimit-remaining") == "0" and _header(error, "x-ratelimit-reset"):
        try:
            return max(0.0, float(_header(error, "x-ratelimit-reset")) - now)
        except ValueError:
            return None
    return None


def is_rate_limited(error: Exception) -> bool:
    status = getattr(error, "status", None)
    if status == 429:
        return True
    if status != 403:
        return False
    text = _message(error).lower()
    return (
        "rate limit" in text
        or _header(error, "retry-after") is not None
        or _header(error, "x-ratelimit-remaining") == "0"
    )


def is_transient(error: Exception) -> bool:
    """Worth another try: server errors, rate limits, dropped connections and timeouts."""
    import requests

    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return True
    status = getattr(error, "status", None)
    return isinstance(status, int) and (status >= 500 or is_rate_limited(error))


def explain(error: Exception, action: str, permission: str, redact: Callable[[str], str]) -> str:
    """A message for a failure that retrying cannot fix, naming the permission when it is one."""
    status = getattr(error, "status", None)
    detail = redact(_message(error))
    if status == 401:
        return (
            f"GitHub rejected the token while {action} (401: {detail}). Check that GITHUB_TOKEN "
            "holds a valid, unexpired token for this repository."
        )
    if status == 403:
        return (
            f"GitHub refused {action} (403: {detail}). The token needs the `{permission}` "
            f"permission: add `permissions: {{{permission}}}` to the workflow or job. Pull "
            "requests from forks get a read-only token; their report goes to the job summary."
        )
    if status == 404:
        return (
            f"GitHub found nothing while {action} (404: {detail}). Check GITHUB_REPOSITORY, the "
            f"comment_on setting, and that the token can see the repository (`{permission}`)."
        )
    return f"GitHub failed while {action}: {redact(str(error))}"


def call_with_retries(
    operation: Callable[[], T],
    *,
    action: str,
    permission: str,
    policy: RetryPolicy,
    redact: Callable[[str], str] = lambda text: text,
    log: Callable[[str], None] = lambda message: None,
) -> T:
    """Run ``operation``; retry transient failures with exponential backoff, honouring
    Retry-After, while the next attempt would start within ``policy.budget_seconds``."""
    from github import GithubException

    start, attempt = time.monotonic(), 0
    while True:
        try:
            return operation()
        except Exception as error:
            if not is_transient(error):
                if isinstance(error, GithubException):
                    raise GitHubPublishError(explain(error, action, permission, redact)) from None
                raise
            attempt += 1
            asked = _retry_after(error, time.time())
            delay = asked if asked is not None else policy.base_delay * 2 ** (attempt - 1)
            delay = min(delay, policy.max_delay) if asked is None else delay
            status = getattr(error, "status", type(error).__name__)
            if time.monotonic() - start + delay > policy.budget_seconds:
                why = f"GitHub asked to wait {asked:.0f} s, " if asked is not None else ""
                raise GitHubUnavailable(
                    f"gave up {action} after {attempt} attempts ({status}: "
                    f"{redact(_message(error))}); {why}the retry budget is "
                    f"{policy.budget_seconds:.0f} s (retry_budget_seconds)"
                ) from None
            log(f"{action}: GitHub answered {status}; retrying in {delay:.1f} s")
            time.sleep(delay)
