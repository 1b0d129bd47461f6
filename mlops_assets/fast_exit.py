"""Skip Python's last garbage collection when a process that loaded the pipeline exits.

TensorFlow, Dagster, MLflow and pydantic leave hundreds of thousands of objects behind, and the
collection Python runs while shutting down walks them all only to free memory the operating
system takes back anyway: 2.5 to 3 s after a training, about a second after a no-op run, on
every CLI run, run worker and test process. Freezing them at exit leaves them out of that
collection; exit handlers, file flushes and reference-counted cleanup still run.
"""

import atexit
import gc


def skip_final_collection() -> None:
    """Freeze every object at exit (after the exit handlers registered later have run)."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
