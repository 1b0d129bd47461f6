"""The head commit of each open pull request, for the pull-request sensor.

One request per poll (the first page of open PRs, most recently updated first), so a tick stays
within GitHub's rate limit.
"""

from dataclasses import dataclass

from mlops_assets.github.client import github_client
from mlops_assets.settings import GitHubAccess

MAX_PULLS = 30


@dataclass(frozen=True)
class PullHead:
    number: int
    sha: str
    branch: str


def open_pull_heads(access: GitHubAccess, limit: int = MAX_PULLS) -> list[PullHead]:
    """The open PRs' numbers, head SHAs and head branches (raises PyGithub's exceptions)."""
    client = github_client(access, per_page=limit)
    try:
        repo = client.get_repo(access.repository, lazy=True)
        pulls = repo.get_pulls(state="open", sort="updated", direction="desc")
        return [PullHead(p.number, p.head.sha, p.head.ref) for p in pulls[:limit]]
    finally:
        client.close()
