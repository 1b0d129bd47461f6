"""The head commit of each open pull request, polled through PyGithub.

One request per poll (the first page of open PRs, most recently updated first), so a tick stays
within GitHub's rate limit. PyGithub is imported inside the function: the code location stays light.
"""

import os
from dataclasses import dataclass

TOKEN_ENV = "GITHUB_TOKEN"
REPOSITORY_ENV = "GITHUB_REPOSITORY"
API_URL_ENV = "GITHUB_API_URL"
DEFAULT_API_URL = "https://api.github.com"
MAX_PULLS = 30


@dataclass(frozen=True)
class PullHead:
    number: int
    sha: str
    branch: str


@dataclass(frozen=True)
class GitHubTarget:
    """Where to poll, from ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL``."""

    token: str
    repository: str
    api_url: str

    def __repr__(self) -> str:  # never show the token in logs or tracebacks
        return f"GitHubTarget(repository={self.repository!r}, api_url={self.api_url!r})"

    @classmethod
    def from_env(cls) -> "GitHubTarget | None":
        token, repository = os.environ.get(TOKEN_ENV), os.environ.get(REPOSITORY_ENV)
        if not token or not repository:
            return None
        if repository.count("/") != 1:
            raise ValueError(f"{REPOSITORY_ENV}={repository!r}: expected owner/name")
        return cls(token, repository, os.environ.get(API_URL_ENV) or DEFAULT_API_URL)


def open_pull_heads(target: GitHubTarget, limit: int = MAX_PULLS) -> list[PullHead]:
    """The open PRs' numbers, head SHAs and head branches (raises PyGithub's exceptions)."""
    from github import Auth, Github

    client = Github(
        auth=Auth.Token(target.token), base_url=target.api_url, per_page=limit, timeout=15, retry=0
    )
    try:
        repo = client.get_repo(target.repository, lazy=True)
        pulls = repo.get_pulls(state="open", sort="updated", direction="desc")
        return [PullHead(p.number, p.head.sha, p.head.ref) for p in pulls[:limit]]
    finally:
        client.close()
