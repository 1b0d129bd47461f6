"""Timing helpers: interleaved repeats, medians, and one printed line per figure."""

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


INFO = "-"  # a figure's target when it has none: printed for reading the others


@dataclass
class Figure:
    name: str
    value: float
    target: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        verdict = "info" if self.target == INFO else "ok" if self.ok else "MISSED"
        return (
            f"{self.name:<52} {self.value:8.3f}   target {self.target:<8} {verdict}  {self.detail}"
        )


def interleaved(
    cases: dict[str, Callable[[], float | None]], repeats: int
) -> dict[str, list[float]]:
    """Run each case in turn, ``repeats`` rounds; a case returns its own timing or None (wall)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            start = time.perf_counter()
            measured = case()
            elapsed = time.perf_counter() - start
            times[name].append(measured if isinstance(measured, float) else elapsed)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def run_python(code: str, env: dict[str, str] | None = None, cwd: Path = PROJECT) -> str:
    """Run ``code`` in a fresh interpreter; returns its stdout, raising with stderr on failure."""
    result = subprocess.run(
        [PYTHON, "-c", code],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{result.stderr[-3000:]}")
    return result.stdout


def python_case(code: str) -> Callable[[], None]:
    """A case for ``interleaved``: the wall time of a fresh interpreter running ``code``."""
    return lambda: run_python(code) and None
