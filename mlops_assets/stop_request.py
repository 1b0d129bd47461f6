"""A stop request of our own for long work: SIGTERM (a cancelled CI job, ``kill``, a stopped
container) or Ctrl-C during training sets a flag that training reads between batches, so the
model stops at a clean point and the run ends CANCELED or FAILED with its MLflow run.

Dagster's own handlers raise wherever the interpreter happens to be; inside a Keras callback
that MLflow's autologging wraps, such an exception can be swallowed and the signal lost. While
``stoppable()`` is active, ours replace them (a second signal stops at once); on exit Dagster's
return and a pending request is raised as ``StopRequested``, an interrupt Dagster reports as one.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(KeyboardInterrupt):
    """The work stopped at a clean point because a signal asked it to."""


class StopRequest:
    def __init__(self) -> None:
        self.signal_name: str | None = None

    def handle(self, signum: int, frame) -> None:
        if self.signal_name is not None:
            raise KeyboardInterrupt  # asked twice: stop now
        self.signal_name = signal.Signals(signum).name

    def stop_if_requested(self, model) -> None:
        """A Keras callback's body: the fit loop ends after this batch or epoch."""
        if self.signal_name is not None:
            model.stop_training = True


@contextmanager
def stoppable() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM set the yielded request instead of raising, until the block ends;
    then a pending request raises ``StopRequested``. Off the main thread signals cannot be
    handled here, and the request stays empty."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, request.handle)
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if request.signal_name is not None:
        raise StopRequested(f"stopped by {request.signal_name}: training ended at a clean point")
