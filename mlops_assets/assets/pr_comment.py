"""pr_comment: what the retrain found, published where reviewers look.

A sticky comment on the pull request (or the commit), the job summary, and always a local copy
in ``artifacts/pr_comment.md``. Without a token it only writes the copy and the summary.
"""

import time

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets.assets.metrics_report import MetricsReport
from mlops_assets.automation import PR_NUMBER_TAG
from mlops_assets.publish.pr_report import publish_report
from mlops_assets.resources.artifacts import ArtifactStore
from mlops_assets.resources.github import GitHubResource

COMMENT_FILE = "pr_comment.md"


def _run_duration(context: AssetExecutionContext) -> float | None:
    record = context.instance.get_run_record_by_id(context.run_id)
    start = record.start_time if record else None
    return time.time() - start if start else None


@asset(code_version="2", group_name="retrain", kinds={"github"})
def pr_comment(
    context: AssetExecutionContext,
    metrics_report: MetricsReport,
    artifacts: ArtifactStore,
    github: GitHubResource,
) -> Output[str]:
    """Posts the report as a sticky comment, or writes it to a local file with no GitHub context."""
    path = artifacts.root_path / COMMENT_FILE
    published = publish_report(
        metrics_report,
        github,
        local_path=path,
        log=context.log.info,
        warn=context.log.warning,
        duration_seconds=_run_duration(context),
        tagged_pr=context.run.tags.get(PR_NUMBER_TAG),
    )
    metadata = {
        "target": published.target,
        "reason": published.reason,
        "path": MetadataValue.path(str(path)),
        "characters": len(published.body),
        "body": MetadataValue.md(published.body),
    }
    if published.url:
        metadata["url"] = MetadataValue.url(published.url)
    return Output(published.url or str(path), metadata=metadata)
