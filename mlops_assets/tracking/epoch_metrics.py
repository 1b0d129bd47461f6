"""Per-epoch curves sent in a few large requests instead of one (or more) per epoch.

Against a tracking server across the internet every request costs tens of milliseconds, about
what an epoch of a small model takes. Keras autologging sends each epoch's metrics as its own
request. Here the training loop only appends to a list; every ``interval`` seconds the buffer
goes out as one request (so the MLflow UI still shows the curves growing during a long fit:
50 ms per 10 s is 0.5 % of the training), and leaving the ``with`` block sends the rest. The
requests are synchronous on purpose: MLflow's asynchronous queue polls with a one-second
timeout, and every flush and every ``end_run`` waits out that second, which costs more than the
requests it saves. Pure: ``send`` does the I/O.
"""

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class Point:
    key: str
    value: float
    step: int  # the 0-based epoch index, as Keras and MLflow's autologging number epochs
    timestamp_ms: int


Send = Callable[[list[Point]], None]


class EpochMetrics:
    """An ``on_epoch`` callback for ``train_model`` that batches the curves for ``send``; as a
    context manager it sends the rest when the block ends, even when training failed (the
    curves so far show where it went wrong). A send that fails during the training does not
    stop it: sending stops, and the error is raised when the block ends, so the code in the
    block (saving the model) has run first."""

    def __init__(
        self,
        send: Send,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._send = send
        self._interval = interval
        self._clock = clock
        self._pending: list[Point] = []
        self._last_sent = clock()
        self._error: Exception | None = None  # the first failed send; nothing is sent after it

    def __call__(self, epoch: int, logs: dict[str, float]) -> None:
        """Record epoch ``epoch`` (1-based, as ``train_model`` reports it)."""
        now_ms = int(time.time() * 1000)
        self._pending += [
            Point(key, float(value), epoch - 1, now_ms) for key, value in sorted(logs.items())
        ]
        if self._error is None and self._clock() - self._last_sent >= self._interval:
            try:
                self.flush()
            except Exception as error:  # noqa: BLE001 - raised when the block ends
                self._error = error

    def flush(self) -> None:
        """Send what is pending in one request (leaving the `with` block does it a last time)."""
        points, self._pending = self._pending, []
        self._last_sent = self._clock()
        if points:
            self._send(points)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            if self._error is not None:
                raise self._error
            self.flush()
            return
        with suppress(Exception):  # the training's own error is the one to report
            self.flush()
