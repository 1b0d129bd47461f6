"""Publishing one report: to the target's sticky comment, the job summary and a local copy.

Without a token (outside CI, or a pull request from a fork) nothing is posted: the body goes to
the local file and the job summary, the reason is logged, and the step succeeds.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_assets.publish.comments import PERMISSION, pull_request_of_commit, upsert_comment
from mlops_assets.publish.context import (
    CIContext,
    Target,
    commit_sha,
    event_target,
    from_fork,
    parse_target,
)
from mlops_assets.publish.plots import (
    BRANCH_PERMISSION,
    branch_plots,
    local_plots,
    mlflow_plots,
)
from mlops_assets.publish.retry import GitHubPublishError, call_with_retries
from mlops_assets.report.comment import CommentLinks, PublishedPlots, render_comment, sticky_marker
from mlops_assets.resources.artifacts import write_text_atomic

if TYPE_CHECKING:
    from mlops_assets.assets.metrics_report import MetricsReport
    from mlops_assets.resources.github import GitHubResource


@dataclass(frozen=True)
class Publication:
    target: str  # "local file", "pull request #4", "commit 0123abcd"
    reason: str
    body: str
    url: str | None = None
    created: bool | None = None


def _local_reason(github: "GitHubResource", ci: CIContext, payload: dict) -> str | None:
    if github.resolved_target() == "local":
        return "target is 'local'"
    if from_fork(ci, payload):
        return "a pull request from a fork, whose token cannot comment"
    if not github.resolved_token():
        return (
            "no GitHub token (GITHUB_TOKEN unset: outside CI, or a pull request from a fork, "
            "which gets none)"
        )
    if not ci.repository:
        return "GITHUB_REPOSITORY is unset"
    return None


def append_step_summary(ci: CIContext, body: str) -> bool:
    """Add the report to the job summary page, when the step runs in GitHub Actions."""
    if not ci.step_summary:
        return False
    with open(ci.step_summary, "a", encoding="utf-8") as summary:
        summary.write(body if body.endswith("\n") else body + "\n")
    return True


def publish_report(
    report: "MetricsReport",
    github: "GitHubResource",
    *,
    local_path: Path,
    log: Callable[[str], None],
    warn: Callable[[str], None],
    duration_seconds: float | None = None,
    tagged_pr: str | None = None,
) -> Publication:
    """Render ``report`` and put it where reviewers look; a copy always lands in ``local_path``."""
    github.validated()
    ci = github.ci_context()
    payload = ci.event_payload()
    sha = commit_sha(ci, payload)
    key = github.sticky_key(ci)
    links = CommentLinks(
        ci_run_url=ci.run_url,
        commit_sha=sha or None,
        commit_url=ci.commit_url(sha) if sha else None,
        duration_seconds=duration_seconds,
    )
    reason = _local_reason(github, ci, payload)
    if reason:
        body = render_comment(
            report, key=key, links=links, plots=local_plots(report.plots, local_path.parent)
        )
        write_text_atomic(local_path, body)
        summary = " and the job summary" if append_step_summary(ci, body) else ""
        log(f"not posting to GitHub: {reason}; wrote the report to {local_path}{summary}")
        return Publication("local file", reason, body)

    repo = github.client(ci).get_repo(ci.repository)

    def call(operation, action, permission):
        return call_with_retries(
            operation,
            action=action,
            permission=permission,
            policy=github.retry_policy(),
            redact=github.redact,
            log=warn,
        )

    target = parse_target(github.resolved_target())
    reason = f"target set to {github.resolved_target()}"
    if target is None and tagged_pr:  # a run the GitHub-mode sensor requested for a PR
        target = Target("pr", tagged_pr)
        reason = f"run tagged with pull request #{tagged_pr}"
    if target is None:
        target = event_target(ci, payload)
        reason = f"{ci.event_name} event"
    if target is None:
        if not sha:
            raise GitHubPublishError("no target: GITHUB_SHA is unset and the event names no PR")
        target = call(
            lambda: pull_request_of_commit(repo, sha),
            f"looking up the pull request of commit {sha[:12]}",
            "pull-requests: read",
        )
        reason = f"{ci.event_name or 'push'}: open pull request whose head is {sha[:12]}"
        if target is None:
            target = Target("commit", sha)
            reason = f"{ci.event_name or 'push'}: no open pull request has head {sha[:12]}"

    plots = _publish_plots(github, report, repo, ci, sha, call, warn)
    body = render_comment(report, key=key, links=links, plots=plots)
    write_text_atomic(local_path, body)  # kept, with the job summary, even if GitHub refuses it
    append_step_summary(ci, body)
    posted = call(
        lambda: upsert_comment(repo, target, body, sticky_marker(key)),
        f"commenting on {target}",
        PERMISSION[target.kind],
    )
    log(f"{'created' if posted.created else 'updated'} the report on {target}: {posted.url}")
    return Publication(str(target), reason, body, url=posted.url, created=posted.created)


def _publish_plots(github, report, repo, ci, sha, call, warn) -> PublishedPlots:
    if github.plots == "mlflow":
        return mlflow_plots(report.plots, report.mlflow_run_url, report.mlflow_run_id)
    if github.plots != "branch" or not report.plots:
        return PublishedPlots()
    folder = sha[:12] or (report.mlflow_run_id or "latest")
    try:
        return call(
            lambda: branch_plots(
                repo,
                report.plots,
                branch=github.plots_branch,
                folder=folder,
                file_url=f"{ci.server_url}/{ci.repository}/blob",
            ),
            f"committing the plots to branch {github.plots_branch}",
            BRANCH_PERMISSION,
        )
    except GitHubPublishError as error:  # the report matters more than its pictures
        warn(f"posting the report without plots: {error}")
        return PublishedPlots(
            note=f"_Plots not published: the token lacks `{BRANCH_PERMISSION}` or GitHub failed "
            "(see the run's logs)._"
        )
