"""One run at a time per project: an exclusive lock on ``<artifacts>/.lock``, held by the run
that writes run directories, stored outputs and ``latest``.

The lock is ``flock``'s, so the kernel releases it when the holder's process dies however it
dies (SIGKILL included): a killed run never leaves the project locked. The file also says who
holds it (run id, process, host, since when), so a run that waits or gives up names that run.
"""

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = ".lock"
POLL_SECONDS = 0.5


class ProjectBusy(RuntimeError):
    """Another run held the project for longer than this run would wait."""


def process_tag() -> str:
    """``host:pid`` of this process: how a later run tells whether a run's process is gone."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_is_gone(tag: str) -> bool:
    """Whether the process ``tag`` names (``host:pid``) ran on this host and exists no more.
    A process on another host cannot be checked from here: never gone."""
    host, _, pid = tag.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def describe_holder(path: Path) -> str:
    """Who holds the lock at ``path``, in words (what its file says)."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"run {holder['run_id']} (process {holder['process']}, since {holder['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"


def held_for(artifacts_dir: Path, run_id: str) -> bool:
    """Whether another process holds the project's lock for run ``run_id`` itself: a run whose
    steps are processes of their own (a sweep) holds it in the process that launches them."""
    path = artifacts_dir / LOCK_FILE
    if not path.is_file():
        return False
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return json.loads(path.read_text(encoding="utf-8")).get("run_id") == run_id
            except (OSError, ValueError, AttributeError):
                return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for a short block, waiting as long as it takes (two
    first runs on a new ``DAGSTER_HOME`` would both create its tables)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases it


@contextmanager
def project_lock(
    artifacts_dir: Path,
    run_id: str,
    wait_seconds: float,
    on_wait: Callable[[str], None] = lambda message: None,
) -> Iterator[None]:
    """Hold the project's lock for the block: at once when it is free, else after waiting up to
    ``wait_seconds`` for the running run (``on_wait`` hears whom it waits for), else
    ``ProjectBusy`` naming the run that holds it."""
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    path = artifacts_dir / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = describe_holder(path)
                if time.monotonic() >= deadline:
                    raise ProjectBusy(
                        f"{holder} is running on this project ({artifacts_dir}); gave up after "
                        f"{wait_seconds:g} s (MLOPS_ASSETS_LOCK_WAIT)"
                    ) from None
                if not announced:
                    on_wait(f"waiting for {holder} to finish (up to {wait_seconds:g} s)")
                    announced = True
                time.sleep(POLL_SECONDS)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"run_id": run_id, "process": process_tag(), "since": since}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
