"""Retrains without anyone pressing a button: on repository changes, on open PRs, on a schedule.

Sensor ticks run in the daemon every few seconds, so they stay cheap: a handful of short git
subprocesses (see ``git_changes``), no history walk, no TensorFlow or MLflow import. Settings are
read at every tick (environment, then ``params.yaml``'s ``automation`` section), so changing them
needs no restart, except the schedule's cron and the on/off defaults, read when the code loads.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from mlops_assets.git_changes import (
    DETACHED,
    BranchChange,
    GitError,
    branch_change,
    check_repository,
    current_branch,
)
from mlops_assets.github_pulls import GitHubTarget, PullHead, open_pull_heads
from mlops_assets.params import PARAMS_FILE, ParamsError, read_params
from mlops_assets.project import project_dir

RETRAIN_JOB = "retrain"

# Run tags. `pr_comment` reads PR_NUMBER_TAG to know which pull request to comment on.
TAG_PREFIX = "mlops_assets/"
COMMIT_TAG = f"{TAG_PREFIX}commit"
BRANCH_TAG = f"{TAG_PREFIX}branch"
CHANGED_PATHS_TAG = f"{TAG_PREFIX}changed_paths"
PREVIOUS_COMMIT_TAG = f"{TAG_PREFIX}previous_commit"
PR_NUMBER_TAG = f"{TAG_PREFIX}pr_number"
TRIGGER_TAG = f"{TAG_PREFIX}trigger"
SCHEDULED_TIME_TAG = f"{TAG_PREFIX}scheduled_time"

WATCH_REPO_ENV = "MLOPS_ASSETS_WATCH_REPO"
WATCH_BRANCHES_ENV = "MLOPS_ASSETS_WATCH_BRANCHES"
WATCH_PATHS_ENV = "MLOPS_ASSETS_WATCH_PATHS"
SENSOR_SWITCH_ENV = "MLOPS_ASSETS_SENSOR"
SENSOR_INTERVAL_ENV = "MLOPS_ASSETS_SENSOR_INTERVAL"
SCHEDULE_SWITCH_ENV = "MLOPS_ASSETS_SCHEDULE"
CRON_ENV = "MLOPS_ASSETS_RETRAIN_CRON"
TIMEZONE_ENV = "MLOPS_ASSETS_RETRAIN_TIMEZONE"

MAX_TAGGED_PATHS = 20
OFF_VALUES = {"off", "0", "false", "no", "stopped"}


def _switched_on(variable: str) -> bool:
    return os.environ.get(variable, "on").strip().lower() not in OFF_VALUES


def _env_list(variable: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(variable, "").split(",") if item.strip())


def automation_params() -> dict:
    """The ``automation`` section of params.yaml, over the built-in defaults."""
    path = project_dir() / PARAMS_FILE
    section = read_params(path)["automation"]
    if not isinstance(section["retrain_cron"], str):
        raise ParamsError(f"{path}: automation.retrain_cron must be a cron string")
    paths = section["watch_paths"]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ParamsError(f"{path}: automation.watch_paths must be a list of glob strings")
    return section


@dataclass(frozen=True)
class WatchSettings:
    """Which repository, refs and paths the git sensor watches."""

    repo: Path
    branches: tuple[str, ...]  # empty: whichever branch is checked out (or HEAD when detached)
    globs: tuple[str, ...]

    @classmethod
    def from_env(cls) -> "WatchSettings":
        repo = os.environ.get(WATCH_REPO_ENV)
        return cls(
            repo=Path(repo).expanduser().resolve() if repo else project_dir(),
            branches=_env_list(WATCH_BRANCHES_ENV),
            globs=_env_list(WATCH_PATHS_ENV) or tuple(automation_params()["watch_paths"]),
        )


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
            TRIGGER_TAG: "git",
            COMMIT_TAG: change.head,
            BRANCH_TAG: branch,
            PREVIOUS_COMMIT_TAG: change.previous or "",
            CHANGED_PATHS_TAG: paths,
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
    settings: WatchSettings, cursor: dict[str, str]
) -> tuple[list[RunRequest], list[str], dict[str, str]]:
    """Run requests (one per new tip commit), skip reasons, and the next cursor.

    Never raises for repository trouble: a missing repository or branch becomes a skip reason,
    and the cursor keeps its last good value so nothing is missed once it is fixed.
    """
    try:
        check_repository(settings.repo)
        refs = settings.branches or (current_branch(settings.repo),)
    except GitError as exc:
        return [], [str(exc)], cursor
    requests: dict[str, RunRequest] = {}
    reasons: list[str] = []
    next_cursor = dict(cursor)
    for ref in refs:
        try:
            change = branch_change(settings.repo, ref, cursor.get(ref), settings.globs)
        except GitError as exc:
            reasons.append(str(exc))
            continue
        next_cursor[ref] = change.head
        if change.needs_retrain:
            requests.setdefault(change.head, _run_request(change))
        else:
            reasons.append(_skip_reason(change, settings.globs))
    return list(requests.values()), reasons, next_cursor


def _sensor_interval() -> int:
    raw = os.environ.get(SENSOR_INTERVAL_ENV, "30")
    try:
        seconds = int(raw)
    except ValueError:
        raise ValueError(f"{SENSOR_INTERVAL_ENV}={raw!r}: expected whole seconds") from None
    if seconds < 1:
        raise ValueError(f"{SENSOR_INTERVAL_ENV}={raw!r}: must be at least 1")
    return seconds


def _default_sensor_status() -> DefaultSensorStatus:
    on = _switched_on(SENSOR_SWITCH_ENV)
    return DefaultSensorStatus.RUNNING if on else DefaultSensorStatus.STOPPED


@sensor(
    name="git_changes",
    job_name=RETRAIN_JOB,
    minimum_interval_seconds=_sensor_interval(),
    default_status=_default_sensor_status(),
    description="Retrains when a commit changes an input of the graph (data, params, code).",
)
def git_changes_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    try:
        settings = WatchSettings.from_env()
    except ParamsError as exc:  # params.yaml edited into a bad state: say so, tick again later
        return SkipReason(str(exc))
    requests, reasons, next_cursor = plan_git_tick(settings, read_cursor(context.cursor))
    for request in requests:
        context.log.info(
            f"retrain {request.tags[BRANCH_TAG]} at {request.run_key}: "
            f"{request.tags[CHANGED_PATHS_TAG]}"
        )
    for reason in reasons if requests else ():
        context.log.info(reason)
    skip = None if requests else SkipReason("; ".join(reasons))
    return SensorResult(run_requests=requests, skip_reason=skip, cursor=write_cursor(next_cursor))


def plan_pull_requests(
    pulls: list[PullHead], cursor: dict[str, str]
) -> tuple[list[RunRequest], dict[str, str]]:
    """One run per (PR, head SHA) not seen yet; the next cursor holds the open PRs only."""
    requests = [
        RunRequest(
            run_key=f"pr-{pull.number}-{pull.sha}",
            tags={
                TRIGGER_TAG: "github_pr",
                PR_NUMBER_TAG: str(pull.number),
                COMMIT_TAG: pull.sha,
                BRANCH_TAG: pull.branch,
            },
        )
        for pull in pulls
        if cursor.get(str(pull.number)) != pull.sha
    ]
    return requests, {str(pull.number): pull.sha for pull in pulls}


@sensor(
    name="github_pull_requests",
    job_name=RETRAIN_JOB,
    minimum_interval_seconds=max(_sensor_interval(), 60),
    default_status=_default_sensor_status(),
    description="With GITHUB_TOKEN and GITHUB_REPOSITORY: retrains each open PR's new head commit.",
)
def github_pull_requests_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    try:
        target = GitHubTarget.from_env()
    except ValueError as exc:
        return SkipReason(str(exc))
    if target is None:
        return SkipReason("GitHub mode is off: set GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name)")
    try:
        pulls = open_pull_heads(target)
    except Exception as exc:  # noqa: BLE001 -- network or API trouble: skip, retry next tick
        status = getattr(exc, "status", None)
        return SkipReason(
            f"could not list the open PRs of {target.repository} at {target.api_url}: "
            f"{type(exc).__name__}{f' (HTTP {status})' if status else ''}"
        )
    requests, next_cursor = plan_pull_requests(pulls, read_cursor(context.cursor))
    skip = None if requests else SkipReason(f"no new head commit on {len(pulls)} open PR(s)")
    return SensorResult(run_requests=requests, skip_reason=skip, cursor=write_cursor(next_cursor))


def _retrain_cron() -> tuple[str, str]:
    """The cron string and where it came from (for error messages)."""
    if os.environ.get(CRON_ENV):
        return os.environ[CRON_ENV], CRON_ENV
    source = f"{project_dir() / PARAMS_FILE}: automation.retrain_cron"
    return automation_params()["retrain_cron"], source


def _build_schedule():
    cron, source = _retrain_cron()
    zone = os.environ.get(TIMEZONE_ENV) or "UTC"
    on = _switched_on(SCHEDULE_SWITCH_ENV)
    try:

        @schedule(
            name="periodic_retrain",
            cron_schedule=cron,
            job_name=RETRAIN_JOB,
            execution_timezone=zone,
            default_status=DefaultScheduleStatus.RUNNING if on else DefaultScheduleStatus.STOPPED,
            description="Retrains on a fixed cadence even when nothing changed (drift, new deps).",
        )
        def periodic_retrain(context: ScheduleEvaluationContext) -> RunRequest:
            when = context.scheduled_execution_time.isoformat()
            return RunRequest(
                run_key=when, tags={TRIGGER_TAG: "schedule", SCHEDULED_TIME_TAG: when}
            )

    except Exception as exc:  # Dagster's message does not say where the cron came from
        raise ValueError(
            f"invalid retrain schedule: cron {cron!r} (from {source}), "
            f"timezone {zone!r} (from {TIMEZONE_ENV} or UTC): {exc}"
        ) from exc
    return periodic_retrain


periodic_retrain = _build_schedule()
