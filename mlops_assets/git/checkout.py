"""The state of the project's checkout: commit, branch, dirty flag and origin.

Facts about git, asked of the git CLI; the tracking layer records them as run tags and the
prelaunch skip hashes the dirty flag.
"""

from collections.abc import Mapping
from pathlib import Path

from mlops_assets import run_tags
from mlops_assets.git.commands import git_or_none


def branch_name(directory: Path, env: Mapping[str, str]) -> str | None:
    """The branch being built: in a GitHub pull request the head branch (the checkout itself is a
    detached merge commit), on a push the pushed branch, locally the checked-out branch."""
    if env.get("GITHUB_HEAD_REF"):
        return env["GITHUB_HEAD_REF"]
    if env.get("GITHUB_REF_TYPE") == "branch" and env.get("GITHUB_REF_NAME"):
        return env["GITHUB_REF_NAME"]
    return git_or_none(directory, "branch", "--show-current") or None


def git_tags(directory: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Commit, branch, dirty flag (tracked files only) and origin; empty outside a git checkout."""
    commit = git_or_none(directory, "rev-parse", "HEAD")
    if not commit:
        return {}
    tags = {run_tags.GIT_COMMIT: commit}
    status = git_or_none(directory, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        tags[run_tags.GIT_DIRTY] = str(bool(status)).lower()
    if branch := branch_name(directory, env):
        tags[run_tags.GIT_BRANCH] = branch
    origin = git_or_none(directory, "remote", "get-url", "origin")
    if origin and "@" not in origin:
        tags[run_tags.GIT_REPO_URL] = origin  # an origin with credentials in it is not recorded
    return tags


def uncommitted_sources(directory: Path, outputs: Path) -> bool | None:
    """Whether tracked files other than the pipeline's own outputs (``outputs``, the artifacts
    directory: a run rewrites its DVC mirror there) differ from the commit; None outside git."""
    pathspec = ["."]
    if outputs.resolve().is_relative_to(directory.resolve()):
        pathspec.append(f":(exclude){outputs.resolve().relative_to(directory.resolve())}")
    status = git_or_none(
        directory, "status", "--porcelain", "--untracked-files=no", "--", *pathspec
    )
    return None if status is None else bool(status)
