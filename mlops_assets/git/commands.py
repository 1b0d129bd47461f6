"""The git CLI, run one short subprocess at a time: the one wrapper every git question goes through.

The CLI rather than a Python binding: it is on every machine and CI runner that has a checkout,
handles shallow clones, worktrees and every ref format as the user's own git does, and adds no
dependency to the code location.
"""

import os
import subprocess
from pathlib import Path

GIT_TIMEOUT_SECONDS = 30
DETACHED = "HEAD"
REPOSITORY_OVERRIDES = {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"}


class GitError(RuntimeError):
    """A git command failed or the directory is not a usable repository; the message says which."""


def _run(repo: Path, args: tuple[str, ...], text: bool):
    command = ["git", "-C", str(repo), *args]
    # Variables a git hook or wrapper may have set would point every command at another repo.
    env = {k: v for k, v in os.environ.items() if k not in REPOSITORY_OVERRIDES}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=text,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("the git executable is not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"`git {' '.join(args)}` in {repo} took over {GIT_TIMEOUT_SECONDS}s"
        ) from exc
    if done.returncode != 0:
        stderr = done.stderr if text else done.stderr.decode(errors="replace")
        detail = stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise GitError(f"`git {' '.join(args)}` failed in {repo}: {detail[0]}")
    return done.stdout


def git(repo: Path, *args: str) -> str:
    """Run ``git -C repo args`` and return its stdout, stripped; ``GitError`` on any failure."""
    return _run(repo, args, text=True).strip()


def git_bytes(repo: Path, *args: str) -> bytes:
    """Like ``git``, but the output's raw bytes (a file's content as committed)."""
    return _run(repo, args, text=False)


def check_repository(repo: Path) -> None:
    """Raise ``GitError`` naming ``repo`` unless it is an existing directory inside a work tree."""
    if not repo.is_dir():
        raise GitError(f"the watched repository {repo} does not exist")
    try:
        inside = git(repo, "rev-parse", "--is-inside-work-tree")
    except GitError as exc:
        raise GitError(f"{repo} is not a git repository ({exc})") from None
    if inside != "true":
        raise GitError(f"{repo} is not inside a git work tree")


def current_branch(repo: Path) -> str:
    """The checked-out branch's short name, or ``HEAD`` when HEAD is detached."""
    try:
        return git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    except GitError:
        return DETACHED


def git_or_none(repo: Path, *args: str) -> str | None:
    """Like ``git``, but None when git fails (for information that is only nice to have)."""
    try:
        return git(repo, *args)
    except GitError:
        return None
