"""Both models on the same held-out rows: the file each run keeps, and the paired comparison.

Each run writes its held-out predictions with a hash per row (features and target). When the
baseline run's file holds the same rows, the two models are compared paired
(``noise.paired_difference_interval``); otherwise the comparison stays unpaired and says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlops_assets.artifacts.atomic import write_text_atomic
from mlops_assets.records import Paired
from mlops_assets.report.noise import paired_difference_interval

if TYPE_CHECKING:
    import numpy as np


def row_keys(x, y) -> np.ndarray:
    """A hash per held-out row, of its features and target, as hex strings."""
    import pandas as pd

    frame = pd.DataFrame(x).reset_index(drop=True)
    frame.columns = [f"c{i}" for i in range(frame.shape[1])]
    frame["target"] = pd.Series(y).reset_index(drop=True)
    return pd.util.hash_pandas_object(frame, index=False).map("{:016x}".format).to_numpy()


def write_predictions(path: Path, keys, y_true, y_out) -> Path:
    """``row``, ``target`` and the model's output (``prediction``, or one column per class)."""
    import numpy as np
    import pandas as pd

    out = np.asarray(y_out)
    columns = (
        {"prediction": out.ravel()}
        if out.ndim == 1 or out.shape[1] == 1
        else {f"prediction_{i}": out[:, i] for i in range(out.shape[1])}
    )
    frame = pd.DataFrame({"row": keys, "target": np.asarray(y_true), **columns})
    return write_text_atomic(path, frame.to_csv(index=False))


def _read(path: Path):
    import pandas as pd

    frame = pd.read_csv(path, dtype={"row": str}).sort_values("row", kind="stable")
    outputs = [c for c in frame.columns if c.startswith("prediction")]
    out = frame[outputs].to_numpy()
    return (
        frame["row"].to_numpy(),
        frame["target"].to_numpy(),
        out[:, 0] if out.shape[1] == 1 else out,
    )


def compare_paired(metric: str, current: Path, baseline: Path | None, seed: int = 0) -> Paired:
    """The difference interval of ``metric`` between this run's predictions file and the
    baseline's, when both held out the same rows with the same targets."""
    if baseline is None:
        return Paired(None, note="the baseline's held-out predictions are not available")
    if not current.is_file():
        return Paired(None, note=f"this run's held-out predictions are missing ({current})")
    keys, y_true, y_out = _read(current)
    try:
        base_keys, base_true, base_out = _read(baseline)
    except (OSError, ValueError, KeyError) as error:
        return Paired(None, note=f"the baseline's held-out predictions are unreadable ({error})")
    same_rows = len(keys) == len(base_keys) and (keys == base_keys).all()
    if not same_rows or not (y_true == base_true).all() or base_out.shape != y_out.shape:
        return Paired(None, note="the baseline held out other rows (the data or the split changed)")
    interval = paired_difference_interval(metric, y_true, y_out, base_out, seed=seed)
    return Paired(interval, rows=len(keys))
