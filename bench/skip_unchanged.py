"""Skip unchanged work: a no-op re-run against a full run, side by side in one benchmark.

Both go through the CLI (``dagster asset materialize -m mlops_assets --select '*'``) against the
same persistent DAGSTER_HOME, with the project's params.yaml and data: the first run trains, the
second finds data, parameters and code unchanged and restores the outputs. Rounds alternate on
fresh projects so load on the machine hits both sides alike.

The no-op run cannot be cheaper than the CLI itself (start Python, import Dagster, open the
instance, launch a run), so each round also times the same command on a one-asset definitions
file: the floor. The second figure says how close to that floor the no-op run gets.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import INFO, Figure, median
from mlops_assets_tests.support.cli_project import MATERIALIZE_ALL, CliProject

TARGET = 0.15


# One trivial asset, run in process like the pipeline (the default executor forks a process).
TRIVIAL = """from dagster import Definitions, asset, in_process_executor

@asset
def one():
    return 1

defs = Definitions(assets=[one], executor=in_process_executor)
"""


def _cli_floor(project: CliProject) -> float:
    """Seconds for ``dagster asset materialize`` of one trivial asset, same instance setup."""
    definitions = project.root / "trivial.py"
    definitions.write_text(TRIVIAL)
    command = [arg if arg != "mlops_assets" else str(definitions) for arg in MATERIALIZE_ALL]
    command[command.index("-m")] = "-f"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dagster", *command],
        cwd=project.root,
        env=project.environment(),
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started


def _round() -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="mlops-assets-bench-") as tmp:
        project = CliProject(Path(tmp))
        full = project.materialize(what="full run")
        noop = project.materialize(what="no-op re-run")
        floor = _cli_floor(project)
    if "reusing the output of run" not in noop.output:
        raise RuntimeError("the no-op re-run did not reuse anything")
    return full.seconds, noop.seconds, floor


def run(repeats: int = 2) -> list[Figure]:
    rounds = [_round() for _ in range(repeats)]
    full, noop, floor = (median([r[i] for r in rounds]) for i in range(3))
    ratio = noop / full
    return [
        Figure(
            "no-op re-run / full run (CLI)",
            ratio,
            f"<= {TARGET}",
            ratio <= TARGET,
            f"medians {noop:.1f}s / {full:.1f}s over {repeats} rounds",
        ),
        Figure(
            "no-op re-run / one-asset CLI run (the floor)",
            noop / floor,
            INFO,
            True,
            f"medians {noop:.1f}s / {floor:.1f}s; floor / full run = {floor / full:.2f}",
        ),
    ]
