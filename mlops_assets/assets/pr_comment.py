"""pr_comment: what the retrain found, published where reviewers look.

With no GitHub context the comment body is written to a local file instead.
"""

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets.assets.metrics_report import MetricsReport
from mlops_assets.resources.artifacts import ArtifactStore, write_text_atomic

COMMENT_FILE = "pr_comment.md"
MARKER = "<!-- mlops-assets report -->"


@asset(code_version="1", group_name="retrain", kinds={"github"})
def pr_comment(
    context: AssetExecutionContext, metrics_report: MetricsReport, artifacts: ArtifactStore
) -> Output[str]:
    """Writes the comment body it would post to ``artifacts/pr_comment.md``."""
    body = f"{MARKER}\n{metrics_report.markdown}"
    path = write_text_atomic(artifacts.root_path / COMMENT_FILE, body)
    reason = "no GitHub context (GITHUB_TOKEN and GITHUB_REPOSITORY unset)"
    context.log.info(f"{reason}: wrote the comment body to {path}")
    return Output(
        str(path),
        metadata={
            "target": "local file",
            "reason": reason,
            "path": MetadataValue.path(str(path)),
            "body": MetadataValue.md(body),
        },
    )
