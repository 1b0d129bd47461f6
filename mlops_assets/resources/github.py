"""GitHub as a typed resource: where to post, how, and a PyGithub client built on demand.

The token is read when a step needs it: from ``token`` if set (pass ``EnvVar("NAME")``, never a
literal), else from ``$GITHUB_TOKEN``. It is never part of the resource's repr, logs, metadata
or error messages (``redact`` scrubs any text that could echo it).
"""

import os
from dataclasses import replace

from dagster import ConfigurableResource
from pydantic import Field

from mlops_assets.publish.context import CIContext, parse_target
from mlops_assets.publish.plots import PUBLISHERS
from mlops_assets.publish.retry import RetryPolicy

TOKEN_ENV = "GITHUB_TOKEN"
TARGET_ENV = "MLOPS_ASSETS_GITHUB_TARGET"


class GitHubResource(ConfigurableResource):
    """Posts the report as a sticky comment; empty settings come from the GitHub Actions
    variables (``GITHUB_REPOSITORY``, ``GITHUB_API_URL``, ``GITHUB_WORKFLOW``)."""

    token: str | None = Field(
        default=None, repr=False, description="Empty: $GITHUB_TOKEN. Use EnvVar, not a literal."
    )
    repository: str = Field(default="", description="owner/name; empty: $GITHUB_REPOSITORY")
    api_url: str = Field(default="", description="REST API root; empty: $GITHUB_API_URL")
    target: str = Field(
        default="",
        description="auto, local, pr/<number>, issue/<number> or commit/<sha>; "
        f"empty: ${TARGET_ENV} or auto",
    )
    key: str = Field(
        default="", description="Names the sticky comment; empty: $GITHUB_WORKFLOW or 'retrain'"
    )
    plots: str = Field(default="mlflow", description="Plot publisher: none, mlflow or branch")
    plots_branch: str = Field(
        default="mlops-assets-plots", description="Branch for `plots: branch`"
    )
    retry_budget_seconds: float = Field(default=60.0, ge=0, description="Max time spent retrying")
    seconds_between_writes: float = Field(
        default=1.0, ge=0, description="PyGithub's pause between writes (secondary rate limits)"
    )

    def ci_context(self) -> CIContext:
        ci = CIContext.from_env(os.environ)
        return replace(
            ci,
            repository=self.repository or ci.repository,
            api_url=(self.api_url or ci.api_url).rstrip("/"),
        )

    def resolved_target(self) -> str:
        return (self.target or os.environ.get(TARGET_ENV) or "auto").strip()

    def sticky_key(self, ci: CIContext) -> str:
        return self.key or ci.workflow or "retrain"

    def resolved_token(self) -> str:
        return self.token or os.environ.get(TOKEN_ENV, "")

    def validated(self) -> "GitHubResource":
        """Fail early, naming the setting, instead of after training."""
        if self.resolved_target() != "local":
            parse_target(self.resolved_target())
        if self.plots not in PUBLISHERS:
            raise ValueError(f"GitHubResource.plots is {self.plots!r}; use one of {PUBLISHERS}")
        return self

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(budget_seconds=self.retry_budget_seconds)

    def redact(self, text: str) -> str:
        token = self.resolved_token()
        return text.replace(token, "***") if token else text

    def client(self, ci: CIContext):
        """A PyGithub client on ``ci.api_url`` (GitHub Enterprise: ``https://host/api/v3``).
        Retries are ours (``publish.retry``), so PyGithub's own are off."""
        from github import Auth, Github

        return Github(
            auth=Auth.Token(self.resolved_token()),
            base_url=ci.api_url,
            per_page=100,
            retry=None,
            lazy=True,
            timeout=30,
            seconds_between_writes=self.seconds_between_writes or None,
            user_agent="mlops-assets",
        )
