"""Data quality rules behind the asset checks: pure functions from data to a verdict with a reason.

``raw_data`` already refuses files it cannot use at all; these rules re-verify the value that was
materialised and add the ones a parser cannot see (duplicates, leakage), so every result shows in
the Dagster UI with the numbers that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlops_assets.data.dataset import MIN_ROWS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


MAX_ROWS = 5_000_000
MAX_DUPLICATE_FRACTION = 0.10  # more identical rows than this and the data is suspect
CLASSES = (0.0, 1.0)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str
    metadata: dict = field(default_factory=dict)


def schema(frame: pd.DataFrame, target: str) -> Verdict:
    """The target and at least one feature exist, column names are unique, every column numeric."""
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    types = {str(c): str(t) for c, t in frame.dtypes.items()}
    meta = {"columns": len(columns), "types": ", ".join(f"{c}: {t}" for c, t in types.items())}
    if target not in columns:
        return Verdict(False, f"target column '{target}' missing (columns: {columns})", meta)
    if len(columns) < 2:
        return Verdict(False, f"no feature columns besides the target '{target}'", meta)
    if len(set(columns)) != len(columns):
        return Verdict(False, f"duplicate column names: {columns}", meta)
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        return Verdict(False, f"non-numeric columns: {', '.join(map(str, non_numeric))}", meta)
    return Verdict(True, f"{len(columns) - 1} numeric features and target '{target}'", meta)


def no_missing_values(frame: pd.DataFrame) -> Verdict:
    """No NaN or infinity in the target or any feature."""
    import numpy as np

    values = frame.select_dtypes("number")
    bad = (~np.isfinite(values.to_numpy(dtype=np.float64))).sum(axis=0)
    counts = {str(c): int(n) for c, n in zip(values.columns, bad) if n}
    if counts:
        where = ", ".join(f"'{c}': {n}" for c, n in counts.items())
        return Verdict(False, f"missing or infinite values per column: {where}", counts)
    return Verdict(True, "no missing or infinite values", {"cells": int(values.size)})


def row_count(rows: int, min_rows: int = MIN_ROWS, max_rows: int = MAX_ROWS) -> Verdict:
    meta = {"rows": rows, "min_rows": min_rows, "max_rows": max_rows}
    if not min_rows <= rows <= max_rows:
        return Verdict(False, f"{rows} rows, outside the bounds [{min_rows}, {max_rows}]", meta)
    return Verdict(True, f"{rows} rows within [{min_rows}, {max_rows}]", meta)


def target_values(values: pd.Series | np.ndarray, task: str) -> Verdict:
    """Regression: a finite, non-constant target. Classification: exactly the classes 0 and 1."""
    import numpy as np

    y = np.asarray(values, dtype=np.float64)
    if task == "binary_classification":
        classes, counts = np.unique(y, return_counts=True)
        meta = {f"class_{c:g}": int(n) for c, n in zip(classes, counts)}
        if tuple(classes.tolist()) != CLASSES:
            found = [float(c) for c in classes[:10]]
            return Verdict(False, f"expected both classes 0 and 1, found {found}", meta)
        return Verdict(True, f"both classes present ({meta})", meta)
    if not np.isfinite(y).all():
        return Verdict(False, "target has missing or infinite values", {})
    meta = {"min": float(y.min()), "max": float(y.max()), "std": float(y.std())}
    if meta["std"] == 0:
        return Verdict(False, f"constant target {meta['min']:g}: nothing to learn", meta)
    return Verdict(True, f"target range [{meta['min']:.4g}, {meta['max']:.4g}]", meta)


def duplicate_rows(frame: pd.DataFrame, max_fraction: float = MAX_DUPLICATE_FRACTION) -> Verdict:
    """At most ``max_fraction`` of the rows repeat an earlier row exactly."""
    duplicates = int(frame.duplicated().sum())
    fraction = duplicates / len(frame) if len(frame) else 0.0
    meta = {"duplicate_rows": duplicates, "fraction": fraction, "max_fraction": max_fraction}
    reason = f"{duplicates} of {len(frame)} rows ({fraction:.1%}) repeat an earlier row"
    if fraction > max_fraction:
        return Verdict(False, f"{reason}; at most {max_fraction:.0%} allowed", meta)
    return Verdict(True, reason, meta)


def train_test_leakage(x_train: np.ndarray, x_test: np.ndarray) -> Verdict:
    """No held-out row has a feature vector identical to a training row (it would score itself)."""
    import numpy as np

    seen = {np.ascontiguousarray(row).tobytes() for row in x_train}
    leaked = [i for i, row in enumerate(x_test) if np.ascontiguousarray(row).tobytes() in seen]
    meta = {"leaked_test_rows": len(leaked), "test_rows": len(x_test)}
    if leaked:
        first = ", ".join(map(str, leaked[:5]))
        return Verdict(
            False,
            f"{len(leaked)} of {len(x_test)} held-out rows also appear in the training split "
            f"(test row indices {first}); remove duplicate rows from the data",
            meta,
        )
    return Verdict(True, f"none of the {len(x_test)} held-out rows appears in training", meta)


def classes_in_both_splits(y_train: np.ndarray, y_test: np.ndarray) -> Verdict:
    """Classification: each split holds both classes, or its metrics mean nothing."""
    import numpy as np

    present = {
        split: sorted(float(c) for c in np.unique(y))
        for split, y in (("train", y_train), ("test", y_test))
    }
    missing = [split for split, classes in present.items() if tuple(classes) != CLASSES]
    meta = {split: str(classes) for split, classes in present.items()}
    if missing:
        return Verdict(False, f"the {' and '.join(missing)} split lacks a class: {meta}", meta)
    return Verdict(True, "both classes in the training and the held-out split", meta)
