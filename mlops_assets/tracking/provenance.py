"""Where a run came from, as MLflow tags: the git commit, branch and dirty flag of the project,
and in GitHub Actions the pull request and the workflow run. MLflow's own tag names are used
where they exist (``mlflow.source.git.*``), so its UI shows them in their usual places."""

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
GIT_DIRTY = "mlops_assets.git.dirty"
PR_NUMBER = "mlops_assets.github.pr_number"
CI_RUN_URL = "mlops_assets.ci.run_url"


def _git(directory: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def branch_name(directory: Path, env: Mapping[str, str]) -> str | None:
    """The branch being built: in a GitHub pull request the head branch (the checkout itself is a
    detached merge commit), on a push the pushed branch, locally the checked-out branch."""
    if env.get("GITHUB_HEAD_REF"):
        return env["GITHUB_HEAD_REF"]
    if env.get("GITHUB_REF_TYPE") == "branch" and env.get("GITHUB_REF_NAME"):
        return env["GITHUB_REF_NAME"]
    return _git(directory, "branch", "--show-current") or None


def base_branch(env: Mapping[str, str] | None = None) -> str:
    """The branch a run is compared against: a pull request's base, else ``main``."""
    env = os.environ if env is None else env
    return env.get("GITHUB_BASE_REF") or "main"


def git_tags(directory: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Commit, branch, dirty flag (tracked files only) and origin; empty outside a git checkout."""
    commit = _git(directory, "rev-parse", "HEAD")
    if not commit:
        return {}
    tags = {GIT_COMMIT: commit}
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        tags[GIT_DIRTY] = str(bool(status)).lower()
    if branch := branch_name(directory, env):
        tags[GIT_BRANCH] = branch
    if (origin := _git(directory, "remote", "get-url", "origin")) and "@" not in origin:
        tags[GIT_REPO_URL] = origin  # an origin with credentials in it is not recorded
    return tags


def ci_tags(env: Mapping[str, str]) -> dict[str, str]:
    """The pull request number and the workflow run's URL, when GitHub Actions says so."""
    tags = {}
    if match := re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", env.get("GITHUB_REF", "")):
        tags[PR_NUMBER] = match.group(1)
    if all(env.get(v) for v in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")):
        tags[CI_RUN_URL] = (
            f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        )
    return tags
