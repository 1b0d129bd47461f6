"""Watching a CLI run from outside, as a user would: until a condition holds, who holds the
project's lock, whether training has started."""

import json
import time
from pathlib import Path

import pytest

from mlops_assets_tests.support.cli_project import CliProject


def wait_for(what: str, check, process=None, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(f"the run exited ({process.returncode}) while waiting for {what}")
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def holder(project: CliProject) -> str | None:
    """The run id the project's lock file names (the run holding it), if any."""
    lock = project.artifacts / ".lock"
    text = lock.read_text() if lock.is_file() else ""
    return json.loads(text)["run_id"] if text.strip() else None


def training(log: Path) -> bool:
    return "epoch 1/" in log.read_text(errors="replace")
