"""What changed in a git repository since a known commit, through the git CLI.

The git CLI rather than a Python binding: it is on every machine and CI runner that has a
checkout, it is what GitHub's checkout action uses, it handles shallow clones, worktrees and
every ref format the same way the user's own git does, and it adds no dependency to the code
location. Each question is one short subprocess whose cost does not grow with the history:
``rev-parse`` for a ref, ``cat-file -e`` for "do we still have that commit", and a *tree* diff
between two commits (not a walk over the commits between them). A tree diff also answers the
right question after a burst of commits (the net change), a force-push or a rebase (the old
tip and the new tip compared directly), and in a shallow clone (no history needed).
"""

import fnmatch
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_SECONDS = 30
DETACHED = "HEAD"
REPOSITORY_OVERRIDES = {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"}


class GitError(RuntimeError):
    """A git command failed or the directory is not a usable repository; the message says which."""


def git(repo: Path, *args: str) -> str:
    """Run ``git -C repo args`` and return its stdout, stripped; ``GitError`` on any failure."""
    command = ["git", "-C", str(repo), *args]
    # Variables a git hook or wrapper may have set would point every command at another repo.
    env = {k: v for k, v in os.environ.items() if k not in REPOSITORY_OVERRIDES}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
            env=env,
        )
    except FileNotFoundError as exc:
        raise GitError("the git executable is not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"`git {' '.join(args)}` in {repo} took over {GIT_TIMEOUT_SECONDS}s"
        ) from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise GitError(f"`git {' '.join(args)}` failed in {repo}: {detail[0]}")
    return done.stdout.strip()


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


def resolve_commit(repo: Path, ref: str) -> str:
    """The full SHA ``ref`` points at (``HEAD`` or a local branch name)."""
    qualified = ref if ref == DETACHED else f"refs/heads/{ref}"
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{qualified}^{{commit}}")
    except GitError:
        raise GitError(f"branch '{ref}' does not exist in {repo} (or has no commit yet)") from None


def has_commit(repo: Path, sha: str) -> bool:
    """Whether the object database still holds ``sha`` (a force-push and gc, or a shallow clone,
    can lose it)."""
    try:
        git(repo, "cat-file", "-e", f"{sha}^{{commit}}")
    except GitError:
        return False
    return True


def changed_paths(repo: Path, old: str, new: str) -> list[str]:
    """Paths that differ between the trees of ``old`` and ``new``, relative to ``repo``.

    ``--relative`` keeps only paths under ``repo`` when it is a subdirectory of the work tree
    (a project inside a monorepo), so the watch globs are always relative to the project.
    """
    out = git(repo, "diff", "-z", "--name-only", "--no-renames", "--relative", old, new, "--")
    return [path for path in out.split("\0") if path]  # -z: unusual names arrive unquoted


def matching(paths: Iterable[str], globs: Sequence[str]) -> list[str]:
    """The paths that match any glob; ``*`` also matches ``/``, so ``data/*`` covers subfolders."""
    return [path for path in paths if any(fnmatch.fnmatchcase(path, g) for g in globs)]


@dataclass(frozen=True)
class BranchChange:
    """What happened on one watched ref since the cursor's commit."""

    ref: str
    head: str
    previous: str | None
    changed: tuple[str, ...] | None  # None: unknown, the previous commit is gone
    inputs: tuple[str, ...]  # the changed paths that are inputs of the graph

    @property
    def needs_retrain(self) -> bool:
        return self.previous is not None and (self.changed is None or bool(self.inputs))


def branch_change(repo: Path, ref: str, previous: str | None, globs: Sequence[str]) -> BranchChange:
    """Compare ``ref``'s tip with ``previous`` (the commit seen last tick, or None the first time)."""
    head = resolve_commit(repo, ref)
    if previous is None or previous == head:
        return BranchChange(ref, head, previous, changed=(), inputs=())
    if not has_commit(repo, previous):
        return BranchChange(ref, head, previous, changed=None, inputs=())
    changed = changed_paths(repo, previous, head)
    return BranchChange(ref, head, previous, tuple(changed), tuple(matching(changed, globs)))
