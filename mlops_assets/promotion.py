"""Who becomes the champion: the rules of a model's life after its pull request, without MLflow.

A model that passes the gate is registered as a version. It moves ``champion`` only from a
clean checkout of the champion branch outside a pull request: a merge (the push to main), a
scheduled retrain, a local run on main. Any other run's version is a candidate; a pull
request's gets the alias ``pr-<N>`` (one per pull request, so open pull requests never take
each other's place). Rolling back moves ``champion`` to an earlier version; the default is
the champion the current one replaced.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from mlops_assets.records import ModelVersion, Promotion

CHAMPION, CANDIDATE, NOT_REGISTERED = "champion", "candidate", "not registered"


class RollbackError(Exception):
    """Nothing to roll back to, or no such version: nothing was changed."""


@dataclass(frozen=True)
class Decision:
    role: str  # CHAMPION, CANDIDATE or NOT_REGISTERED
    why: str
    alias: str | None = None  # the candidate's alias


def candidate_alias(pr_number: str) -> str:
    return f"pr-{pr_number}"


def decide(
    *,
    gate_passed: bool,
    branch: str | None,
    champion_branch: str,
    dirty: bool | None,
    pr_number: str | None,
) -> Decision:
    """What registering this run's model does, and why in words."""
    if not gate_passed:
        return Decision(NOT_REGISTERED, "the quality gate refused the model")
    if pr_number:
        return Decision(
            CANDIDATE,
            f"a pull request's model is a candidate; merging #{pr_number} promotes it",
            candidate_alias(pr_number),
        )
    if dirty:
        return Decision(CANDIDATE, "the working tree has uncommitted changes (never promoted)")
    if dirty is None:
        return Decision(CANDIDATE, "not a git checkout: where the model came from is unknown")
    if branch != champion_branch:
        return Decision(
            CANDIDATE, f"branch '{branch}' is not the champion branch '{champion_branch}'"
        )
    return Decision(CHAMPION, f"a passing model from a clean checkout of '{champion_branch}'")


def deltas(new: ModelVersion, old: ModelVersion | None) -> dict[str, float]:
    """Each metric both versions have: new minus old."""
    if old is None:
        return {}
    return {k: v - old.metrics[k] for k, v in new.metrics.items() if k in old.metrics}


def next_move(
    ledger: list[Promotion],
    to: ModelVersion,
    replaced: ModelVersion | None,
    *,
    by_run: str,
    commit: str,
    reason: str,
) -> Promotion:
    """The ledger entry for moving ``champion`` from ``replaced`` to ``to`` now."""
    return Promotion(
        seq=max((move.seq for move in ledger), default=0) + 1,
        version=to.version,
        replaced=replaced.version if replaced else None,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        by_run=by_run,
        commit=commit,
        reason=reason,
        deltas=deltas(to, replaced),
    )


def rollback_target(
    ledger: list[Promotion], current: ModelVersion | None, requested: str, known: list[str]
) -> str:
    """The version to roll back to: ``requested``, else the champion ``current`` replaced.
    Raises ``RollbackError`` (saying why) when there is none."""
    if current is None:
        raise RollbackError("there is no champion yet: nothing to roll back")
    if requested:
        requested = requested.removeprefix("v")
        if requested not in known:
            listed = ", ".join(f"v{v}" for v in known) or "none"
            raise RollbackError(f"version {requested} does not exist (versions: {listed})")
        if requested == current.version:
            raise RollbackError(f"version {requested} is the champion already")
        return requested
    made = [move for move in ledger if move.version == current.version]
    if not made or made[-1].replaced is None:
        raise RollbackError(
            f"champion v{current.version} replaced no earlier champion: nothing to roll back to"
        )
    return made[-1].replaced


_MERGED = (re.compile(r"^Merge pull request #(\d+)"), re.compile(r"\(#(\d+)\)\s*$"))


def merged_pull_request(subject: str) -> str:
    """The pull request a merge commit's subject names (GitHub's merge and squash messages)."""
    for pattern in _MERGED:
        if match := pattern.search(subject):
            return match.group(1)
    return ""
