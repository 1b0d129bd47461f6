"""GitHub as a typed resource: where the report is posted and how.

The token is a field like the others, wired as ``EnvVar("GITHUB_TOKEN")`` when the variable is
set (never a literal): Dagster then keeps its value out of the run config and the UI. It is
never part of logs, metadata or error messages (``PublishSettings.redact``).
"""

import os
from collections.abc import Mapping

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from mlops_assets import settings
from mlops_assets.github.context import CIContext
from mlops_assets.github.plots import PUBLISHERS
from mlops_assets.github.publish import PublishSettings
from mlops_assets.github.retry import RetryPolicy
from mlops_assets.settings import DEFAULT_GITHUB_API_URL, GitHubAccess


class GitHubResource(ConfigurableResource):
    """Posts the report as a sticky comment on ``repository``; without a token the report
    stays local (the file and the job summary)."""

    token: str | None = Field(default=None, description="Use EnvVar('GITHUB_TOKEN'), not a literal")
    repository: str = Field(default="", description="owner/name")
    api_url: str = Field(default=DEFAULT_GITHUB_API_URL, description="REST API root")
    comment_on: str = Field(
        default="auto", description="auto, local, pr/<number>, issue/<number> or commit/<sha>"
    )
    key: str = Field(
        default="", description="Names the sticky comment; empty: the workflow's name or 'retrain'"
    )
    plots: str = Field(default="mlflow", description=f"Plot publisher: {', '.join(PUBLISHERS)}")
    plots_branch: str = Field(
        default="mlops-assets-plots", description="Branch for `plots: branch`"
    )
    retry_budget_seconds: float = Field(default=60.0, ge=0, description="Max time spent retrying")
    seconds_between_writes: float = Field(
        default=1.0, ge=0, description="PyGithub's pause between writes (secondary rate limits)"
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **fields) -> "GitHubResource":
        """From GitHub Actions' variables (``GITHUB_TOKEN`` as an ``EnvVar``,
        ``GITHUB_REPOSITORY``, ``GITHUB_API_URL``) and ``MLOPS_ASSETS_COMMENT_ON``."""
        env = os.environ if env is None else env
        token = EnvVar(settings.GITHUB_TOKEN) if env.get(settings.GITHUB_TOKEN) else None
        return cls(
            **{
                "token": token,
                "repository": env.get(settings.GITHUB_REPOSITORY, ""),
                "api_url": env.get(settings.GITHUB_API_URL) or DEFAULT_GITHUB_API_URL,
                "comment_on": settings.comment_on(env),
                **fields,
            }
        )

    def publish_settings(self, ci: CIContext) -> PublishSettings:
        """What ``publish_report`` needs; the repository defaults to the workflow's own."""
        repository = self.repository or ci.repository
        access = GitHubAccess(self.token, repository, self.api_url) if self.token else None
        return PublishSettings(
            access=access if repository else None,
            comment_on=self.comment_on.strip() or "auto",
            key=self.key,
            plots=self.plots,
            plots_branch=self.plots_branch,
            retry=RetryPolicy(budget_seconds=self.retry_budget_seconds),
            seconds_between_writes=self.seconds_between_writes,
        ).validated()
