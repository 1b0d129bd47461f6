"""The one way this project builds a PyGithub client.

Retries are ours (``retry.call_with_retries``: bounded in time, honouring Retry-After), so
PyGithub's own are off. PyGithub is imported inside the function: the code location stays light.
"""

from mlops_assets.settings import GitHubAccess

TIMEOUT_SECONDS = 30


def github_client(access: GitHubAccess, per_page: int = 100, seconds_between_writes: float = 1.0):
    """A client on ``access.api_url`` (GitHub Enterprise: ``https://host/api/v3``)."""
    from github import Auth, Github

    return Github(
        auth=Auth.Token(access.token),
        base_url=access.api_url.rstrip("/"),
        per_page=per_page,
        retry=None,
        lazy=True,
        timeout=TIMEOUT_SECONDS,
        seconds_between_writes=seconds_between_writes or None,
        user_agent="mlops-assets",
    )
