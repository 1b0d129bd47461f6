"""A GitHub Actions step's environment, pointed at the fake GitHub server: the ``actions``
fixture (a pytest plugin of conftest.py, like the tracking servers) and a pull request event."""

import os

import pytest

from mlops_assets.settings import COMMENT_ON
from mlops_assets_tests.support.fake_github import FakeGitHub

HEAD = "c0ffee" + "0" * 34  # the pull request's head commit


@pytest.fixture
def actions(monkeypatch, tmp_path, fake_github):
    """Sets the GitHub Actions variables for the fake server (any real GITHUB_* removed)."""

    def use(fake: FakeGitHub = fake_github, **kwargs) -> dict[str, str]:
        for name in [n for n in os.environ if n.startswith("GITHUB_")]:
            monkeypatch.delenv(name)
        monkeypatch.delenv(COMMENT_ON, raising=False)
        env = fake.actions_env(tmp_path, **kwargs)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return env

    return use


def pr_event(number: int) -> dict:
    return {"number": number, "pull_request": {"number": number, "head": {"sha": HEAD}}}
