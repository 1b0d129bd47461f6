"""Where a run came from in GitHub Actions, as MLflow tags: the pull request and the workflow run.

The checkout's own facts (commit, branch, dirty flag) are git's: ``git/checkout.py``.
"""

from collections.abc import Mapping

from mlops_assets import run_tags
from mlops_assets.github.context import CIContext, pull_request_number


def ci_tags(env: Mapping[str, str]) -> dict[str, str]:
    """The pull request number and the workflow run's URL, when GitHub Actions says so."""
    tags = {}
    if number := pull_request_number(env.get("GITHUB_REF", "")):
        tags[run_tags.PR_NUMBER] = number
    if url := CIContext.from_env(env).run_url:
        tags[run_tags.CI_RUN_URL] = url
    return tags
