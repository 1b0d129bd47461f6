"""The artifact store as a Dagster resource: run directories and ``latest`` under ``root``."""

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from mlops_assets.artifacts.store import RunArtifacts


class ArtifactStore(ConfigurableResource):
    """Run-scoped artifact directories under ``root``, with ``root/latest`` the last good run."""

    root: str = Field(description="Directory that holds runs/<run_id>/ and the latest link")
    keep_runs: int = Field(default=10, ge=1, description="Run directories kept besides latest")

    @property
    def store(self) -> RunArtifacts:
        return RunArtifacts(Path(self.root), self.keep_runs)
