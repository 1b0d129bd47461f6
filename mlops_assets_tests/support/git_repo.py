"""A real git repository on a temporary directory, driven through the git CLI."""

import os
import shutil
import subprocess
from pathlib import Path

from mlops_assets.settings import project_dir

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def run_git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class GitRepo:
    def __init__(self, path: Path, init: bool = True):
        self.path = path
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        return run_git(self.path, *args)

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        """Write ``files`` (path -> text) and commit them; returns the new commit's SHA."""
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", name)
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def project_repository(path: Path) -> GitRepo:
    """A git repository holding this checkout's files as they are now, committed on main."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=project_dir(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    repo = GitRepo(path)
    for name in listed:
        source = project_dir() / name
        if source.is_file():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, path / name)
    repo.git("add", "--all")
    repo.git("commit", "--quiet", "-m", "the project")
    return repo
