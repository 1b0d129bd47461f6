"""A process that loaded the pipeline leaves its objects out of Python's final collection."""

import subprocess
import sys

import pytest

SCRIPT = """
import atexit, gc, sys
import mlops_assets

if sys.argv[2] == "default":
    atexit.unregister(gc.freeze)
atexit.register(lambda: print("exit handlers still run", flush=True))


class Cycle:
    def __del__(self):  # runs only if a garbage collection frees the cycle
        open(sys.argv[1], "w").close()


cycle = Cycle()
cycle.self = cycle
del cycle
"""


@pytest.mark.parametrize(("exit_", "collected"), [("frozen", False), ("default", True)])
def test_the_final_collection_is_skipped_but_exit_handlers_run(tmp_path, exit_, collected):
    marker = tmp_path / "collected"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(marker), exit_],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "exit handlers still run" in done.stdout
    assert marker.exists() is collected
