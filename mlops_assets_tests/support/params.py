"""params.yaml variants for tests: the project's file with some keys changed (every key is
required, as for DVC, so a test never writes a partial file by accident)."""

import yaml

from mlops_assets.settings import project_dir


def params_yaml(**sections: dict) -> str:
    """The project's params.yaml text with ``sections``' keys set, e.g. ``train={"epochs": 2}``."""
    params = yaml.safe_load((project_dir() / "params.yaml").read_text())
    for section, values in sections.items():
        params[section] = {**params[section], **values}
    return yaml.safe_dump(params, sort_keys=False)


# A few epochs of a small network: enough for a run's plumbing, seconds to train.
FAST = {"epochs": 3, "hidden_layers": [8], "early_stopping_patience": 0, "learning_rate": 0.02}
FAST_PARAMS = params_yaml(train=FAST)  # the same, as a whole params.yaml (for a git commit)
