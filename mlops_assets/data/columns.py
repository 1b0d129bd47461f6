"""What kind each column is: numeric or categorical, inferred from type and cardinality, or
declared in ``data.columns``. Columns that cannot be features (IDs, free text) are refused by
name, with the setting that drops them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_assets.data.errors import DatasetError, line_of
from mlops_assets.records import CATEGORICAL, NUMERIC, Column

if TYPE_CHECKING:
    import pandas as pd

# Distinct values per non-missing row above this, and a column names rows rather than
# describing them: an ID or free text, which no model can learn from.
ID_LIKE_FRACTION = 0.9
ID_LIKE_MIN_ROWS = 20


def _declared(overrides: Mapping[str, list[str]], columns: list[str], path: Path) -> dict:
    kinds = {}
    for kind in ("categorical", "numeric", "drop"):
        for name in overrides.get(kind, []):
            if name not in columns:
                raise DatasetError(
                    f"{path}: data.columns.{kind} names '{name}', which is not a column "
                    f"(columns: {', '.join(columns)})"
                )
            kinds[name] = kind
    return kinds


def _id_like(values: pd.Series, integers_only: bool) -> bool:
    present = values.dropna()
    if len(present) < ID_LIKE_MIN_ROWS:
        return False
    distinct = present.nunique()
    if distinct <= ID_LIKE_FRACTION * len(present):
        return False
    if not integers_only:
        return True
    # Measurements are often all distinct; consecutive integers in file order number the rows.
    consecutive = float(present.max()) - float(present.min()) + 1 == distinct  # no int64 wrap
    ordered = present.is_monotonic_increasing or present.is_monotonic_decreasing
    return bool((present % 1 == 0).all()) and consecutive and ordered


def _refuse_id_like(name: str, values: pd.Series, path: Path) -> None:
    present = values.dropna()
    raise DatasetError(
        f"{path}: column '{name}' has {present.nunique()} distinct values in {len(present)} "
        "rows: it looks like an ID or free text, which a model cannot learn from. Drop it in "
        f"params.yaml with `data: {{columns: {{drop: [{name}]}}}}` (or, if it is a feature, "
        "declare it in data.columns.numeric or data.columns.categorical)"
    )


# Numbers in at least this share of a text column's cells: a column of numbers with a stray
# marker (``?``, ``n/a``) or typo, not a categorical one.
MOSTLY_NUMBERS = 0.9


def _refuse_stray_text(name: str, values: pd.Series, path: Path) -> None:
    import numpy as np
    import pandas as pd

    present = values.notna()
    numbers = pd.to_numeric(values, errors="coerce").notna()
    stray = present & ~numbers  # none in a column of booleans (True and False are numbers)
    if not stray.any() or numbers.sum() < MOSTLY_NUMBERS * present.sum():
        return
    row = int(np.flatnonzero(stray.to_numpy())[0])
    raise DatasetError(
        f"{path}: column '{name}', line {line_of(values.index[row])}: non-numeric value "
        f"{values.iloc[row]!r} in a column of numbers. A missing-value marker? List it in "
        "data.na_values. A category? Declare the column in data.columns.categorical"
    )


def _as_numbers(name: str, values: pd.Series, path: Path, setting: str) -> pd.Series:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    coerced = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & coerced.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DatasetError(
            f"{path}: column '{name}', line {line_of(values.index[row])}: non-numeric value "
            f"{values.iloc[row]!r} in a {setting} column (a missing-value marker? list it in "
            "data.na_values)"
        )
    infinite = ~np.isfinite(coerced.fillna(0).to_numpy(dtype="float64"))
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise DatasetError(
            f"{path}: column '{name}', line {line_of(values.index[row])}: infinite value"
        )
    return coerced.astype("float64")


def _as_text(values: pd.Series) -> pd.Series:
    """Categories as strings (Y/N, True/False, M/F...), missing cells kept missing."""
    present = values.notna()
    text = values.astype(object).where(~present, values.astype(str).str.strip())
    return text.where(present, None).astype("category")


def type_columns(
    frame: pd.DataFrame, target: str, overrides: Mapping[str, list[str]], path: Path
) -> tuple[pd.DataFrame, list[Column]]:
    """The feature columns typed (float numbers, integer codes, or string categories) and
    described, in file order; ``data.columns.drop`` columns left out."""
    import pandas as pd

    names = [str(c) for c in frame.columns]
    declared = _declared(overrides, names, path)
    if declared.get(target) is not None:
        raise DatasetError(
            f"{path}: the target '{target}' is listed in data.columns.{declared[target]}"
        )
    typed: dict[str, pd.Series] = {}
    columns: list[Column] = []
    for name in names:
        if name == target or declared.get(name) == "drop":
            continue
        values = frame[name]
        kind = declared.get(name)
        numeric_type = pd.api.types.is_numeric_dtype(values) and not (
            pd.api.types.is_bool_dtype(values)
        )
        if kind == "numeric":
            series, dtype = _as_numbers(name, values, path, "data.columns.numeric"), "float"
        elif kind == "categorical" and numeric_type:
            series = _as_numbers(name, values, path, "categorical")
            if not (series.dropna() % 1 == 0).all():
                raise DatasetError(
                    f"{path}: column '{name}' is in data.columns.categorical but holds "
                    "non-integer numbers; categories are integer codes or text"
                )
            series, dtype = series.astype("Int64"), "integer"
        elif kind == "categorical":
            series, dtype = _as_text(values), "string"
        elif numeric_type:
            if _id_like(values, integers_only=True):
                _refuse_id_like(name, values, path)
            series, dtype, kind = _as_numbers(name, values, path, "numeric"), "float", "numeric"
        else:
            _refuse_stray_text(name, values, path)
            if _id_like(values, integers_only=False):
                _refuse_id_like(name, values, path)
            series, dtype, kind = _as_text(values), "string", "categorical"
        typed[name] = series
        columns.append(
            Column(
                name=name,
                kind=NUMERIC if kind == "numeric" else CATEGORICAL,
                dtype=dtype,
                missing_fraction=float(series.isna().mean()) if len(series) else 0.0,
                declared=name in declared,
            )
        )
    if not columns:
        raise DatasetError(f"{path}: no feature columns besides the target '{target}'")
    return pd.DataFrame(typed, index=frame.index), columns
