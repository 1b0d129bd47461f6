"""The sticky comment: one per thread and workflow, found by its hidden marker and edited in place.

Every page of comments is searched (PyGithub's PaginatedList follows the Link headers), so a
pull request with hundreds of comments still gets its report edited, not duplicated.
"""

from dataclasses import dataclass

from mlops_assets.github.context import CommentThread

# The permission each kind of comment needs (GitHub's workflow `permissions:` names).
PERMISSION = {"pr": "pull-requests: write", "issue": "issues: write", "commit": "contents: write"}


@dataclass(frozen=True)
class PostedComment:
    url: str
    created: bool  # False when an existing comment was edited


def pull_request_of_commit(repo, sha: str) -> CommentThread | None:
    """The open pull request whose head is ``sha`` (``GET /commits/{sha}/pulls``), if any."""
    for pull in repo.get_commit(sha).get_pulls():
        if pull.state == "open" and pull.head.sha == sha:
            return CommentThread("pr", str(pull.number))
    return None


def is_report(body: str | None, marker: str) -> bool:
    """A comment is ours when it starts with the marker lines: a reply quoting it does not."""
    lines = marker.splitlines()
    return (body or "").splitlines()[: len(lines)] == lines


def _thread(repo, thread: CommentThread):
    """What the comments hang on: the issue of a pull request or issue, or the commit."""
    if thread.kind == "commit":
        return repo.get_commit(thread.id)
    return repo.get_issue(thread.number)


def upsert_comment(repo, thread: CommentThread, body: str, marker: str) -> PostedComment:
    """Edit the comment that starts with ``marker`` or, when there is none, create it."""
    thread = _thread(repo, thread)
    for comment in thread.get_comments():
        if is_report(comment.body, marker):
            comment.edit(body)
            return PostedComment(comment.html_url, created=False)
    created = thread.create_comment(body)
    return PostedComment(created.html_url, created=True)
