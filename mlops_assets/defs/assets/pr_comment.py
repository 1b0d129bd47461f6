"""pr_comment: what the retrain found, published where reviewers look.

A sticky comment on the pull request (or the commit), the job summary, and always a local copy
in ``artifacts/pr_comment.md``. Without a token it only writes the copy and the summary.
"""

import os
import time

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets import run_tags
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.github import GitHubResource
from mlops_assets.github.context import CIContext
from mlops_assets.github.publish import publish_report
from mlops_assets.records import MetricsReport, Registration


def _run_duration(context: AssetExecutionContext) -> float | None:
    record = context.instance.get_run_record_by_id(context.run_id)
    start = record.start_time if record else None
    return time.time() - start if start else None


@asset(code_version="2", group_name="retrain", kinds={"github"})
def pr_comment(
    context: AssetExecutionContext,
    metrics_report: MetricsReport,
    model_version: Registration,
    artifacts: ArtifactStore,
    github: GitHubResource,
) -> Output[str]:
    """Posts the report, with what merging would do to the champion, as a sticky comment, or
    writes it to a local file with no GitHub context."""
    path = artifacts.store.comment_path
    ci = CIContext.from_env(os.environ)
    published = publish_report(
        metrics_report,
        github.publish_settings(ci),
        ci,
        registration=model_version,
        local_path=path,
        log=context.log.info,
        warn=context.log.warning,
        duration_seconds=_run_duration(context),
        tagged_pr=context.run.tags.get(run_tags.PR_NUMBER),
    )
    metadata = {
        "posted_to": published.destination,
        "reason": published.reason,
        "path": MetadataValue.path(str(path)),
        "characters": len(published.body),
        "body": MetadataValue.md(published.body),
    }
    if published.url:
        metadata["url"] = MetadataValue.url(published.url)
    if published.check_run_url:
        metadata["check_run"] = MetadataValue.url(published.check_run_url)
    return Output(published.url or str(path), metadata=metadata)
