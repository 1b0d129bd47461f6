"""The assets' stored outputs, one file per run: ``runs/<run_id>/<asset>.pickle``.

A file is written once, atomically, by the run that produced it, and never rewritten, so a
run reading an earlier run's output never sees it half written or swapped for another run's.
Beside them, ``<asset>`` is a small stamp holding the output's fingerprint, or without one a
hash of the output (of its ``stamp_content()`` when it has one, which leaves out times and run
ids): what DVC tracks as the stage's out (dvc.yaml). It changes only when that does, so a run
that reused everything leaves ``dvc status`` clean. ``runs/<asset>.latest`` names the run that
wrote the asset last: where a run on a throwaway instance (no ``DAGSTER_HOME``, each DVC stage
its own process) finds an upstream output the instance has no record of.
"""

import hashlib
import json
import pickle
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mlops_assets.artifacts.atomic import write_atomic, write_text_atomic

RUNS = "runs"
SUFFIX = ".pickle"


class StoredOutputError(RuntimeError):
    """A stored output is missing or cannot be read; the message names its file."""


@runtime_checkable
class Stamped(Protocol):
    """A value whose pickle holds what a stamp must not (a time, the run that made it)."""

    def stamp_content(self) -> Any:
        """What its stamp hashes instead (JSON): a function of what the value says."""


def content_hash(value: Any, data: bytes) -> str:
    """The stamp of an output with no fingerprint: the hash of its ``stamp_content()``, else
    of ``data``, its pickle."""
    if isinstance(value, Stamped):
        data = json.dumps(value.stamp_content(), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


class RunOutputs:
    """Stored outputs under ``root``, by run and asset name."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, run_id: str, name: str) -> Path:
        return self.root / RUNS / run_id / f"{name}{SUFFIX}"

    def stamp_path(self, name: str) -> Path:
        return self.root / name

    def _pointer(self, name: str) -> Path:
        return self.root / RUNS / f"{name}.latest"

    def last_writer(self, name: str) -> str | None:
        """The run that stored ``name`` last, if any did."""
        try:
            return self._pointer(name).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def write(
        self, run_id: str, name: str, value: Any, stamp: str | None, latest: bool = True
    ) -> Path:
        """Store run ``run_id``'s ``value`` for ``name``. With ``latest`` (an asset's output),
        also record the run as its last writer and rewrite the stamp if ``stamp`` (by default
        ``content_hash``) is new."""
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        path = write_atomic(self.path(run_id, name), lambda partial: partial.write_bytes(data))
        if latest:
            self._stamp(name, stamp or content_hash(value, data))
            write_text_atomic(self._pointer(name), run_id + "\n")
        return path

    def _stamp(self, name: str, stamp: str) -> None:
        stamp_file = self.stamp_path(name)
        try:
            unchanged = stamp_file.read_text(encoding="utf-8") == stamp + "\n"
        except (OSError, UnicodeDecodeError):
            unchanged = False
        if not unchanged:
            write_text_atomic(stamp_file, stamp + "\n")

    def read(self, run_id: str, name: str) -> Any:
        path = self.path(run_id, name)
        try:
            return pickle.loads(path.read_bytes())
        except FileNotFoundError:
            raise StoredOutputError(f"{path}: the stored output of {name} is missing") from None
        # Truncated, overwritten with noise, or no longer matching today's classes.
        except (
            OSError,
            EOFError,
            pickle.UnpicklingError,
            AttributeError,
            ImportError,
            IndexError,
            TypeError,
            ValueError,
        ) as error:
            raise StoredOutputError(
                f"{path}: the stored output of {name} cannot be read ({type(error).__name__}: "
                f"{error})"
            ) from None

    def prune(self, keep: Iterable[str], keep_newest: int) -> None:
        """Remove run directories but those in ``keep`` and the ``keep_newest`` newest."""
        runs_dir = self.root / RUNS
        if not runs_dir.is_dir():
            return
        runs = sorted(
            (p for p in runs_dir.iterdir() if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        wanted = set(keep) | {
            p.read_text(encoding="utf-8").strip() for p in runs_dir.glob("*.latest")
        }
        for old in runs[keep_newest:]:
            if old.name not in wanted:
                shutil.rmtree(old, ignore_errors=True)
