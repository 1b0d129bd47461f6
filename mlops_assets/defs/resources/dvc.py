"""DVC-tracked data as a Dagster resource: which remote to pull a missing data file from."""

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from mlops_assets.dvc.data import DataSource, ensure_local


class DvcData(ConfigurableResource):
    """Pulls DVC-tracked data files that are missing from the workspace."""

    remote: str = Field(default="", description="DVC remote name; empty: the default remote")

    def ensure_local(self, path: Path) -> DataSource:
        return ensure_local(path, self.remote)
