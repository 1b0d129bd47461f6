"""Retrains without anyone pressing a button: on repository changes and on open pull requests.

Sensor ticks run in the daemon every few seconds, so they stay cheap: a handful of short git
subprocesses (see ``mlops_assets.git.changes``), no history walk, no TensorFlow or MLflow import.
Their settings are read at every tick (see ``mlops_assets.settings``), so changing them needs no
restart, except the interval and the on/off defaults, read when the code loads.
"""

import json

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from mlops_assets import run_tags, settings
from mlops_assets.defs.jobs import RETRAIN_JOB
from mlops_assets.git.changes import BranchChange, branch_change
from mlops_assets.git.commands import DETACHED, GitError, check_repository, current_branch
from mlops_assets.github.pulls import PullHead, open_pull_heads
from mlops_assets.params import ParamsError
from mlops_assets.settings import GitHubAccess, WatchSettings, project_dir

MAX_TAGGED_PATHS = 20


def read_cursor(cursor: str | None) -> dict[str, str]:
    """The last commit seen per watched ref; an unreadable cursor starts afresh."""
    try:
        loaded = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(ref): str(sha) for ref, sha in loaded.items() if isinstance(sha, str)}


def write_cursor(commits: dict[str, str]) -> str:
    return json.dumps(commits, sort_keys=True)


def _short(sha: str | None) -> str:
    return (sha or "")[:10]


def _paths_tag(paths: tuple[str, ...]) -> str:
    shown = ", ".join(paths[:MAX_TAGGED_PATHS])
    more = len(paths) - MAX_TAGGED_PATHS
    return f"{shown} (+{more} more)" if more > 0 else shown


def _run_request(change: BranchChange) -> RunRequest:
    if change.changed is None:
        paths = "unknown: the previous commit is not in the repository (rewritten history?)"
    else:
        paths = _paths_tag(change.inputs)
    branch = "(detached HEAD)" if change.ref == DETACHED else change.ref
    return RunRequest(
        run_key=change.head,
        tags={
            run_tags.TRIGGER: "git",
            run_tags.COMMIT: change.head,
            run_tags.BRANCH: branch,
            run_tags.PREVIOUS_COMMIT: change.previous or "",
            run_tags.CHANGED_PATHS: paths,
        },
    )


def _skip_reason(change: BranchChange, globs: tuple[str, ...]) -> str:
    ref, head = change.ref, _short(change.head)
    if change.previous is None:
        return f"{ref}: started watching at {head}; later commits that change {list(globs)} retrain"
    if change.previous == change.head:
        return f"{ref}: no new commit since {head}"
    sample = ", ".join(change.changed[:5]) + (", ..." if len(change.changed) > 5 else "")
    return (
        f"{ref}: {len(change.changed)} path(s) changed from {_short(change.previous)} to {head} "
        f"({sample or 'none'}), none matches the watched paths {list(globs)}"
    )


def plan_git_tick(
    watch: WatchSettings, cursor: dict[str, str]
) -> tuple[list[RunRequest], list[str], dict[str, str]]:
    """Run requests (one per new tip commit), skip reasons, and the next cursor.

    Never raises for repository trouble: a missing repository or branch becomes a skip reason,
    and the cursor keeps its last good value so nothing is missed once it is fixed.
    """
    try:
        check_repository(watch.repo)
        refs = watch.branches or (current_branch(watch.repo),)
    except GitError as exc:
        return [], [str(exc)], cursor
    requests: dict[str, RunRequest] = {}
    reasons: list[str] = []
    next_cursor = dict(cursor)
    for ref in refs:
        try:
            change = branch_change(watch.repo, ref, cursor.get(ref), watch.globs)
        except GitError as exc:
            reasons.append(str(exc))
            continue
        next_cursor[ref] = change.head
        if change.needs_retrain:
            requests.setdefault(change.head, _run_request(change))
        else:
            reasons.append(_skip_reason(change, watch.globs))
    return list(requests.values()), reasons, next_cursor


def _default_status() -> DefaultSensorStatus:
    on = settings.switched_on(settings.SENSOR_SWITCH)
    return DefaultSensorStatus.RUNNING if on else DefaultSensorStatus.STOPPED


@sensor(
    name="git_changes",
    job_name=RETRAIN_JOB,
    minimum_interval_seconds=settings.sensor_interval(),
    default_status=_default_status(),
    description="Retrains when a commit changes an input of the graph (data, params, code).",
)
def git_changes_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    try:
        watch = WatchSettings.from_env()
    except ParamsError as exc:  # params.yaml edited into a bad state: say so, tick again later
        return SkipReason(str(exc))
    requests, reasons, next_cursor = plan_git_tick(watch, read_cursor(context.cursor))
    requests, unchanged = drop_unchanged(context.instance, requests)
    reasons += unchanged
    for request in requests:
        context.log.info(
            f"retrain {request.tags[run_tags.BRANCH]} at {request.run_key}: "
            f"{request.tags[run_tags.CHANGED_PATHS]}"
        )
    for reason in reasons if requests else ():
        context.log.info(reason)
    skip = None if requests else SkipReason("; ".join(reasons))
    return SensorResult(run_requests=requests, skip_reason=skip, cursor=write_cursor(next_cursor))


def drop_unchanged(
    instance: DagsterInstance, requests: list[RunRequest]
) -> tuple[list[RunRequest], list[str]]:
    """Leave out the requests for a branch whose last run materialised what a run now would:
    the watched paths changed, but no fingerprint did (data content, parameters, model code).
    Only for the branch of that run: on another branch the registry would do something else
    with the same model (a merge makes a PR's candidate the champion)."""
    if not requests:
        return requests, []
    from mlops_assets.defs.predicted import predicted_fingerprints, recorded_fingerprints

    predicted = predicted_fingerprints(project_dir())
    recorded, run_id = recorded_fingerprints(instance)
    last_run = instance.get_run_by_id(run_id) if run_id else None
    if predicted is None or predicted != recorded or last_run is None:
        return requests, []
    kept, reasons = [], []
    for request in requests:
        branch = request.tags[run_tags.BRANCH]
        if last_run.tags.get(run_tags.BRANCH) != branch:
            kept.append(request)
            continue
        reasons.append(
            f"{branch}: {request.tags[run_tags.CHANGED_PATHS]} changed at "
            f"{_short(request.run_key)}, but the data content, parameters and code "
            f"fingerprints equal those of run {run_id[:8]}: a run would change nothing"
        )
    return kept, reasons


def plan_pull_requests(
    pulls: list[PullHead], cursor: dict[str, str]
) -> tuple[list[RunRequest], dict[str, str]]:
    """One run per (PR, head SHA) not seen yet; the next cursor holds the open PRs only."""
    requests = [
        RunRequest(
            run_key=f"pr-{pull.number}-{pull.sha}",
            tags={
                run_tags.TRIGGER: "github_pr",
                run_tags.PR_NUMBER: str(pull.number),
                run_tags.COMMIT: pull.sha,
                run_tags.BRANCH: pull.branch,
            },
        )
        for pull in pulls
        if cursor.get(str(pull.number)) != pull.sha
    ]
    return requests, {str(pull.number): pull.sha for pull in pulls}


@sensor(
    name="github_pull_requests",
    job_name=RETRAIN_JOB,
    minimum_interval_seconds=max(settings.sensor_interval(), 60),
    default_status=_default_status(),
    description="With GITHUB_TOKEN and GITHUB_REPOSITORY: retrains each open PR's new head commit.",
)
def github_pull_requests_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    try:
        access = GitHubAccess.from_env()
    except ValueError as exc:
        return SkipReason(str(exc))
    if access is None:
        return SkipReason("GitHub mode is off: set GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name)")
    try:
        pulls = open_pull_heads(access)
    except Exception as exc:  # noqa: BLE001 -- network or API trouble: skip, retry next tick
        status = getattr(exc, "status", None)
        return SkipReason(
            f"could not list the open PRs of {access.repository} at {access.api_url}: "
            f"{type(exc).__name__}{f' (HTTP {status})' if status else ''}"
        )
    requests, next_cursor = plan_pull_requests(pulls, read_cursor(context.cursor))
    skip = None if requests else SkipReason(f"no new head commit on {len(pulls)} open PR(s)")
    return SensorResult(run_requests=requests, skip_reason=skip, cursor=write_cursor(next_cursor))
