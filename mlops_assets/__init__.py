"""mlops-assets: the ML retraining loop of a GitHub repository as one Dagster asset graph."""

from mlops_assets.definitions import defs

__all__ = ["defs"]
