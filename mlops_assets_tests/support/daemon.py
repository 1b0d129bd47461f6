"""The environment a real Dagster daemon runs a throwaway project in (daemon and soak tests)."""

import os
from pathlib import Path


def daemon_environment(home: Path, project: Path, **extra: str) -> dict[str, str]:
    """A daemon's environment for ``project``: none of this process's settings leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLOPS_ASSETS_", "GITHUB_", "MLFLOW_", "DAGSTER_"))
    }
    # PYTHONPATH: the clone's package, not the one under test's checkout.
    return {**env, "DAGSTER_HOME": str(home), "PYTHONPATH": str(project), **extra}
