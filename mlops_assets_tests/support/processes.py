"""Servers and daemons the tests start: each in its own process group, so the children it
spawns (gunicorn workers, code servers, run workers) go with it, and always gone after the block."""

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def process_group(
    command: list[str], env: dict, log: Path, cwd: Path, grace: float = 20
) -> Iterator[subprocess.Popen]:
    """``command`` running with its output appended to ``log``; SIGTERM then SIGKILL on exit."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        kill_group(proc, grace)


def kill_group(proc: subprocess.Popen, grace: float = 20) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)  # the whole group: leftovers too, once the leader is gone
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            pass
