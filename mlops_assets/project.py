"""Where the project lives: the directory that holds params.yaml, data/ and artifacts/."""

import os
from pathlib import Path

PROJECT_DIR_ENV = "MLOPS_ASSETS_PROJECT_DIR"


def project_dir() -> Path:
    """The project directory: ``$MLOPS_ASSETS_PROJECT_DIR``, else the checkout holding this package."""
    configured = os.environ.get(PROJECT_DIR_ENV)
    return Path(configured).resolve() if configured else Path(__file__).resolve().parent.parent
