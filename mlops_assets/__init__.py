"""mlops-assets: the ML retraining loop of a GitHub repository as one Dagster asset graph."""

from mlops_assets.definitions import defs
from mlops_assets.fast_exit import skip_final_collection

skip_final_collection()

__all__ = ["defs"]
