"""Data quality rules behind the asset checks: pure functions from data to a verdict with a reason.

``raw_data`` already refuses files it cannot use at all; these rules re-verify the value that was
materialised and add the ones a parser cannot see (duplicates, leakage), so every result shows in
the Dagster UI with the numbers that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlops_assets.data.dataset import MAX_CLASSES, MIN_CLASSES, MIN_ROWS
from mlops_assets.records import Column

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


MAX_ROWS = 5_000_000
MAX_DUPLICATE_FRACTION = 0.10  # more identical rows than this and the data is suspect
MAX_MISSING_FRACTION = 0.3  # params.yaml's data.max_missing_fraction sets the one used


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str
    metadata: dict = field(default_factory=dict)


def schema(frame: pd.DataFrame, target: str, columns: list[Column] | None = None) -> Verdict:
    """The target and at least one feature exist, column names are unique, and every feature
    has a kind (numeric or categorical), listed in the metadata."""
    import pandas as pd

    names = [str(c) for c in frame.columns]
    kinds = {c.name: c.description for c in columns or []}
    meta = {
        "columns": len(names),
        "kinds": ", ".join(f"{name}: {kind}" for name, kind in kinds.items()),
    }
    if target not in names:
        return Verdict(False, f"target column '{target}' missing (columns: {names})", meta)
    if len(names) < 2:
        return Verdict(False, f"no feature columns besides the target '{target}'", meta)
    if len(set(names)) != len(names):
        return Verdict(False, f"duplicate column names: {names}", meta)
    features = [n for n in names if n != target]
    untyped = (
        [n for n in features if n not in kinds]
        if columns is not None
        else [n for n in features if not pd.api.types.is_numeric_dtype(frame[n])]
    )
    if untyped:
        return Verdict(False, f"columns of no known kind: {', '.join(untyped)}", meta)
    counts = {}
    for column in columns or []:
        counts[column.kind] = counts.get(column.kind, 0) + 1
    described = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or (
        f"{len(features)} numeric"
    )
    return Verdict(True, f"{described} features and target '{target}'", meta)


def missing_values(
    frame: pd.DataFrame, target: str, max_fraction: float = MAX_MISSING_FRACTION
) -> Verdict:
    """No feature misses more than ``max_fraction`` of its cells (``data.max_missing_fraction``;
    the rest are imputed from the training split), and no number is infinite."""
    import numpy as np

    shares = {str(c): float(frame[c].isna().mean()) for c in frame.columns if c != target}
    numbers = frame.drop(columns=[target]).select_dtypes("number")
    counts = np.isinf(numbers.to_numpy(dtype=np.float64, na_value=np.nan)).sum(axis=0)
    infinite = {str(c): int(n) for c, n in zip(numbers.columns, counts, strict=True) if n}
    meta = {"max_missing_fraction": max_fraction}
    meta |= {f"missing_{c}": share for c, share in shares.items() if share}
    if infinite:
        where = ", ".join(f"'{c}': {n}" for c, n in infinite.items())
        return Verdict(False, f"infinite values per column: {where}", meta)
    over = {c: share for c, share in shares.items() if share > max_fraction}
    if over:
        where = ", ".join(f"'{c}' {share:.1%}" for c, share in over.items())
        return Verdict(
            False,
            f"missing in more than {max_fraction:.0%} of rows (data.max_missing_fraction): "
            f"{where}; drop the column (data.columns.drop) or fill the file",
            meta,
        )
    gaps = {c: share for c, share in shares.items() if share}
    if not gaps:
        return Verdict(True, "no missing values", meta)
    where = ", ".join(f"'{c}' {share:.1%}" for c, share in gaps.items())
    return Verdict(True, f"missing (imputed from the training split): {where}", meta)


def row_count(rows: int, min_rows: int = MIN_ROWS, max_rows: int = MAX_ROWS) -> Verdict:
    meta = {"rows": rows, "min_rows": min_rows, "max_rows": max_rows}
    if not min_rows <= rows <= max_rows:
        return Verdict(False, f"{rows} rows, outside the bounds [{min_rows}, {max_rows}]", meta)
    return Verdict(True, f"{rows} rows within [{min_rows}, {max_rows}]", meta)


def target_values(values: pd.Series | np.ndarray, task: str) -> Verdict:
    """Regression: a finite, non-constant target. Binary: exactly two labels. Multiclass:
    3 to 50 labels. Each label's count is in the metadata."""
    import numpy as np
    import pandas as pd

    if task in ("binary_classification", "multiclass_classification"):
        counts = pd.Series(values).value_counts(dropna=False).sort_index()
        meta = {f"class_{label}": int(n) for label, n in counts.items()}
        expected = (2, 2) if task == "binary_classification" else (MIN_CLASSES, MAX_CLASSES)
        if not expected[0] <= len(counts) <= expected[1]:
            found = [str(label) for label in counts.index[:10]]
            want = (
                "exactly two" if expected[0] == expected[1] else f"{MIN_CLASSES} to {MAX_CLASSES}"
            )
            return Verdict(False, f"expected {want} classes, found {found}", meta)
        return Verdict(True, f"{len(counts)} classes present ({meta})", meta)
    y = np.asarray(values, dtype=np.float64)
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


def train_test_leakage(x_train: pd.DataFrame, x_test: pd.DataFrame) -> Verdict:
    """No held-out row is identical to a training row in its raw columns (it would score
    itself); rows are compared by hash, missing cells equal to missing cells."""
    import numpy as np
    import pandas as pd

    def hashes(frame):
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(np.asarray(frame))
        return pd.util.hash_pandas_object(frame, index=False).to_numpy()

    seen = set(hashes(x_train).tolist())
    leaked = [i for i, h in enumerate(hashes(x_test).tolist()) if h in seen]
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


def classes_in_both_splits(y_train: np.ndarray, y_test: np.ndarray, classes: int = 2) -> Verdict:
    """Classification: each split holds every class, or its metrics mean nothing."""
    import numpy as np

    expected = tuple(float(c) for c in range(classes))
    present = {
        split: sorted(float(c) for c in np.unique(y))
        for split, y in (("train", y_train), ("test", y_test))
    }
    missing = [split for split, found in present.items() if tuple(found) != expected]
    meta = {split: str(found) for split, found in present.items()}
    if missing:
        return Verdict(False, f"the {' and '.join(missing)} split lacks a class: {meta}", meta)
    return Verdict(True, f"all {classes} classes in the training and the held-out split", meta)
