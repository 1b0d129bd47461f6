"""How long one git-sensor tick takes on a small and on a long history.

    python -m bench sensor_tick

Builds two throwaway repositories with ``git fast-import`` (10 and 5,000 commits), then times
``plan_git_tick`` for: nothing new, one new data commit, and a cursor that is the very first
commit (every commit is new). Target: a median tick on the long history at most 1 s; a tick must
not walk the history, so the long repository costs about what the short one does.
"""

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import Figure
from mlops_assets.defs.sensors import plan_git_tick
from mlops_assets.settings import WatchSettings
from mlops_assets_tests.support.git_repo import GitRepo

GLOBS = ("data/*", "params.yaml", "mlops_assets/*")
REPEATS = 5


def build(path: Path, commits: int) -> GitRepo:
    """``commits`` commits, each changing README.md; every 100th also changes data/train.csv."""
    repo = GitRepo(path)
    lines = []
    for n in range(1, commits + 1):
        files = {"README.md": f"revision {n}\n"}
        if n == 1 or n % 100 == 0:
            files["data/train.csv"] = f"x,y\n{n},{n}\n"
        lines.append(f"commit refs/heads/main\nmark :{n}\n")
        lines.append(f"committer T <t@example.com> {1_700_000_000 + n} +0000\n")
        lines.append(f"data {len(f'c{n}')}\nc{n}\n")
        if n > 1:
            lines.append(f"from :{n - 1}\n")
        for name, text in files.items():
            lines.append(f"M 644 inline {name}\ndata {len(text)}\n{text}\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, input="".join(lines), text=True, check=True
    )
    repo.git("reset", "--quiet", "--hard", "main")
    return repo


def timed(repo: GitRepo, cursor: dict) -> float:
    """Median seconds of one tick over ``REPEATS`` ticks."""
    settings = WatchSettings(repo.path, (), GLOBS)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        plan_git_tick(settings, cursor)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def scenarios(repo: GitRepo) -> dict[str, float]:
    head = repo.head()
    first = repo.git("rev-list", "--max-parents=0", "HEAD")
    results = {"nothing new": timed(repo, {"main": head})}
    repo.commit({"data/train.csv": "x,y\n0,0\n"}, "new data")
    results["one new data commit"] = timed(repo, {"main": head})
    results["every commit new"] = timed(repo, {"main": first})
    return results


def run(commits: int = 5_000) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        small = scenarios(build(Path(tmp) / "small", 10))
        large = scenarios(build(Path(tmp) / "large", commits))
    return [
        Figure(
            f"sensor tick, {commits:,} commits: {name} (s)",
            large[name],
            "<= 1.0",
            large[name] <= 1.0,
            f"x{large[name] / small[name]:.2f} of a 10-commit repository",
        )
        for name in small
    ]
