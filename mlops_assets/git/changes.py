"""What changed in a git repository since a known commit.

Each question is one short subprocess whose cost does not grow with the history:
``rev-parse`` for a ref, ``cat-file -e`` for "do we still have that commit", and a *tree* diff
between two commits (not a walk over the commits between them). A tree diff also answers the
right question after a burst of commits (the net change), a force-push or a rebase (the old
tip and the new tip compared directly), and in a shallow clone (no history needed).
"""

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_assets.git.commands import DETACHED, GitError, git


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
    """Compare ``ref``'s tip with ``previous`` (the commit seen last tick; None the first time)."""
    head = resolve_commit(repo, ref)
    if previous is None or previous == head:
        return BranchChange(ref, head, previous, changed=(), inputs=())
    if not has_commit(repo, previous):
        return BranchChange(ref, head, previous, changed=None, inputs=())
    changed = changed_paths(repo, previous, head)
    return BranchChange(ref, head, previous, tuple(changed), tuple(matching(changed, globs)))
