"""Publishing one report: to its thread's sticky comment, the job summary and a local copy.

Without a token (outside CI, or a pull request from a fork) nothing is posted: the body goes to
the local file and the job summary, the reason is logged, and the step succeeds.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlops_assets.artifacts.atomic import write_text_atomic
from mlops_assets.artifacts.layout import MODEL_CARD_FILE
from mlops_assets.github.check_run import CHECK_NAME, post_check_run
from mlops_assets.github.check_run import PERMISSION as CHECK_PERMISSION
from mlops_assets.github.client import github_client
from mlops_assets.github.context import (
    CIContext,
    CommentThread,
    commit_sha,
    event_thread,
    from_fork,
    parse_thread,
)
from mlops_assets.github.plots import (
    BRANCH_PERMISSION,
    PUBLISHERS,
    branch_plots,
    local_plots,
    mlflow_plots,
)
from mlops_assets.github.retry import (
    GitHubPublishError,
    GitHubUnavailable,
    RetryPolicy,
    call_with_retries,
)
from mlops_assets.github.sticky_comment import PERMISSION, pull_request_of_commit, upsert_comment
from mlops_assets.records import MetricsReport, Registration
from mlops_assets.redaction import redact_secret
from mlops_assets.report.comment import CommentLinks, PublishedPlots, render_comment, sticky_marker
from mlops_assets.settings import GitHubAccess


@dataclass(frozen=True)
class PublishSettings:
    """Where and how to publish; ``access`` is None without a token (the report stays local)."""

    access: GitHubAccess | None = field(default=None, repr=False)
    comment_on: str = "auto"  # auto, local, pr/<n>, issue/<n> or commit/<sha>
    key: str = ""  # names the sticky comment; empty: the workflow's name, or "retrain"
    plots: str = "mlflow"  # none, mlflow or branch
    plots_branch: str = "mlops-assets-plots"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    seconds_between_writes: float = 1.0

    def validated(self) -> "PublishSettings":
        """Fail early, naming the setting, instead of after training."""
        if self.comment_on != "local":
            parse_thread(self.comment_on)
        if self.plots not in PUBLISHERS:
            raise ValueError(f"plots is {self.plots!r}; use one of {PUBLISHERS}")
        return self

    def sticky_key(self, ci: CIContext) -> str:
        return self.key or ci.workflow or "retrain"

    def redact(self, text: str) -> str:
        return redact_secret(text, self.access.token if self.access else None)


@dataclass(frozen=True)
class Publication:
    destination: str  # "local file", "pull request #4", "commit 0123abcd"
    reason: str
    body: str
    url: str | None = None
    created: bool | None = None
    check_run_url: str | None = None


# A GitHub call with retries: (operation, what it does, the permission it needs) -> its result.
Call = Callable[[Callable[[], object], str, str], object]


@dataclass(frozen=True)
class Delivery:
    """One report on its way: what is posted, where, and how to log. The steps of a publication
    share it, so none of them takes a dozen loose arguments."""

    report: MetricsReport
    settings: PublishSettings
    key: str  # the sticky comment's name
    links: CommentLinks
    ci: CIContext
    payload: Mapping  # the triggering event's webhook payload; empty without one
    sha: str  # the commit the report is about; empty when unknown
    local_path: Path  # the copy that is always written
    log: Callable[[str], None]
    warn: Callable[[str], None]
    tagged_pr: str | None = None  # the pull request the GitHub-mode sensor tagged the run with
    registration: Registration | None = None  # what merging would do to the champion


def _local_reason(settings: PublishSettings, ci: CIContext, payload: dict) -> str | None:
    if settings.comment_on == "local":
        return "comment_on is 'local'"
    if from_fork(ci, payload):
        return "a pull request from a fork, whose token cannot comment"
    if settings.access is None:
        return (
            "no GitHub token (GITHUB_TOKEN unset: outside CI, or a pull request from a fork, "
            "which gets none)"
        )
    return None


def append_step_summary(ci: CIContext, body: str) -> bool:
    """Add the report to the job summary page, when the step runs in GitHub Actions."""
    if not ci.step_summary:
        return False
    with open(ci.step_summary, "a", encoding="utf-8") as summary:
        summary.write(body if body.endswith("\n") else body + "\n")
    return True


def model_card_link(
    report: MetricsReport, registration: Registration | None, local_path: Path | None
) -> str | None:
    """Where a reader finds the model card: the registered version's page in the MLflow UI
    (the card is its description), else the MLflow run that holds ``model_card.md``, else,
    for a comment kept in ``local_path``, the file relative to it. None for a run without a
    card, or a posted comment whose card is only on the runner's disk."""
    card = Path(report.directory) / MODEL_CARD_FILE
    if registration is not None and registration.version is not None and registration.url:
        return registration.url
    if not card.is_file():
        return None
    if report.mlflow_run_url:
        return report.mlflow_run_url
    if local_path is None:
        return None
    return Path(os.path.relpath(card, local_path.parent)).as_posix()


def publish_report(
    report: MetricsReport,
    settings: PublishSettings,
    ci: CIContext,
    *,
    registration: Registration | None = None,
    local_path: Path,
    log: Callable[[str], None],
    warn: Callable[[str], None],
    duration_seconds: float | None = None,
    tagged_pr: str | None = None,
) -> Publication:
    """Render ``report`` (with ``registration``, what merging would do to the champion) and put
    it where reviewers look; a copy always lands in ``local_path``."""
    settings.validated()
    payload = ci.event_payload()
    sha = commit_sha(ci, payload)
    key = settings.sticky_key(ci)
    reason = _local_reason(settings, ci, payload)
    links = CommentLinks(
        model_card=model_card_link(report, registration, local_path if reason else None),
        ci_run_url=ci.run_url,
        commit_sha=sha or None,
        commit_url=ci.commit_url(sha) if sha else None,
        duration_seconds=duration_seconds,
    )
    delivery = Delivery(
        report=report,
        settings=settings,
        key=key,
        links=links,
        ci=ci,
        payload=payload,
        sha=sha,
        local_path=local_path,
        log=log,
        warn=warn,
        tagged_pr=tagged_pr,
        registration=registration,
    )
    if reason:
        return _keep_local(delivery, reason)
    return _post(delivery)


def _keep_local(delivery: Delivery, reason: str) -> Publication:
    """The report in ``local_path`` and the job summary only, with its plots as local files."""
    plots = local_plots(delivery.report.plots, delivery.local_path.parent)
    body = render_comment(
        delivery.report,
        key=delivery.key,
        registration=delivery.registration,
        links=delivery.links,
        plots=plots,
    )
    write_text_atomic(delivery.local_path, body)
    summary = " and the job summary" if append_step_summary(delivery.ci, body) else ""
    delivery.log(
        f"not posting to GitHub: {reason}; wrote the report to {delivery.local_path}{summary}"
    )
    return Publication("local file", reason, body)


def _post(delivery: Delivery) -> Publication:
    """The report as a sticky comment where ``ci`` says (or ``comment_on``, or the PR the run
    was tagged with), with its check run; a copy in ``local_path`` and the job summary. When
    GitHub stays unavailable beyond the retry budget, the run's results stand: the report is
    kept in those two places and the publication says it was not posted."""
    d = delivery  # short: read on every line below
    settings, ci, sha, warn = d.settings, d.ci, d.sha, d.warn
    access = settings.access
    client = github_client(access, seconds_between_writes=settings.seconds_between_writes)
    repo = client.get_repo(access.repository)

    def call(operation, action, permission):
        return call_with_retries(
            operation,
            action=action,
            permission=permission,
            policy=settings.retry,
            redact=settings.redact,
            log=warn,
        )

    thread = parse_thread(settings.comment_on)
    reason = f"comment_on is {settings.comment_on}"
    if thread is None and d.tagged_pr:  # a run the GitHub-mode sensor requested for a PR
        thread = CommentThread("pr", d.tagged_pr)
        reason = f"run tagged with pull request #{d.tagged_pr}"
    if thread is None:
        thread = event_thread(ci, d.payload)
        reason = f"{ci.event_name} event"
    if thread is None:
        if not sha:
            raise GitHubPublishError(
                "nowhere to post: GITHUB_SHA is unset and the event names no PR"
            )
        try:
            thread = call(
                lambda: pull_request_of_commit(repo, sha),
                f"looking up the pull request of commit {sha[:12]}",
                "pull-requests: read",
            )
        except GitHubUnavailable as error:
            warn(f"not posted: {error}")
            return _keep_local(d, f"not posted: {error}")
        reason = f"{ci.event_name or 'push'}: open pull request whose head is {sha[:12]}"
        if thread is None:
            thread = CommentThread("commit", sha)
            reason = f"{ci.event_name or 'push'}: no open pull request has head {sha[:12]}"

    plots = _publish_plots(d, repo, call)
    body = render_comment(
        d.report, key=d.key, registration=d.registration, links=d.links, plots=plots
    )
    write_text_atomic(d.local_path, body)  # kept, with the job summary, even if GitHub refuses it
    append_step_summary(ci, body)
    try:
        posted = call(
            lambda: upsert_comment(repo, thread, body, sticky_marker(d.key)),
            f"commenting on {thread}",
            PERMISSION[thread.kind],
        )
    except GitHubUnavailable as error:  # the body is in local_path and the summary already
        warn(f"not posted: {error}")
        return Publication("local file", f"not posted: {error}", body)
    d.log(f"{'created' if posted.created else 'updated'} the report on {thread}: {posted.url}")
    check = _post_check_run(d, repo, call)
    return Publication(
        str(thread), reason, body, url=posted.url, created=posted.created, check_run_url=check
    )


def _post_check_run(delivery: Delivery, repo, call: Call) -> str | None:
    """The gate's verdict as a check run on the commit, for branch protection; without
    ``checks: write`` the comment matters more, so that is a warning, not a failure."""
    if not delivery.sha:
        return None
    try:
        return call(
            lambda: post_check_run(
                repo, delivery.sha, delivery.report, details_url=delivery.ci.run_url
            ),
            f"creating the check run '{CHECK_NAME}' on {delivery.sha[:12]}",
            CHECK_PERMISSION,
        )
    except GitHubPublishError as error:
        delivery.warn(f"no check run for branch protection: {error}")
        return None


def _publish_plots(delivery: Delivery, repo, call: Call) -> PublishedPlots:
    settings, report, ci, sha = delivery.settings, delivery.report, delivery.ci, delivery.sha
    if settings.plots == "mlflow":
        return mlflow_plots(report.plots, report.mlflow_run_url, report.mlflow_run_id)
    if settings.plots != "branch" or not report.plots:
        return PublishedPlots()
    folder = sha[:12] or (report.mlflow_run_id or "latest")
    try:
        return call(
            lambda: branch_plots(
                repo,
                report.plots,
                branch=settings.plots_branch,
                folder=folder,
                file_url=f"{ci.server_url}/{ci.repository}/blob",
            ),
            f"committing the plots to branch {settings.plots_branch}",
            BRANCH_PERMISSION,
        )
    except GitHubPublishError as error:  # the report matters more than its pictures
        delivery.warn(f"posting the report without plots: {error}")
        return PublishedPlots(
            note=f"_Plots not published: the token lacks `{BRANCH_PERMISSION}` or GitHub failed "
            "(see the run's logs)._"
        )
