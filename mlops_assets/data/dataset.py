"""Reading and validating a tabular data set: every failure names the file, column and line."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_assets.data.errors import DatasetError, line_of
from mlops_assets.records import Table

if TYPE_CHECKING:
    import pandas as pd


MIN_ROWS = 20


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(f"{path}: data file not found")


def file_md5(path: Path, chunk_size: int = 1 << 20) -> str:
    """MD5 of the file's bytes: the same content hash DVC records in ``.dvc`` files."""
    _require_file(path)
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["DatasetError", "file_md5", "line_of", "load_dataset", "load_table", "read_csv"]


def read_csv(path: Path, na_values: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Parse ``path`` as UTF-8 CSV with a header row, turning parser failures into DatasetErrors.
    Empty cells, ``NA`` and pandas' other default markers are missing, and so is each of
    ``na_values`` (``data.na_values``, say ``?``)."""
    import pandas as pd

    _require_file(path)
    try:
        frame = pd.read_csv(
            path, encoding="utf-8", skipinitialspace=True, na_values=list(na_values)
        )
        header = _header(path)
    except pd.errors.EmptyDataError:
        raise DatasetError(
            f"{path}: the file is empty (expected a header row and data rows)"
        ) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DatasetError(f"{path}: unparsable CSV ({exc})".replace("\n", " ")) from None
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    if len(set(header)) != len(header) or "" in header:
        raise DatasetError(f"{path}: duplicate or empty column names in the header: {header}")
    return frame


def _header(path: Path) -> list[str]:
    """The header as written (pandas renames duplicate names, which would hide them)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


MIN_CLASSES, MAX_CLASSES = 3, 50  # multiclass_classification


def sorted_labels(values: pd.Series) -> list:
    """A target's distinct labels in one order (numbers and text apart, each sorted)."""
    return sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v))


def _target(frame: pd.DataFrame, path: Path, target: str, task: str, positive_class):
    """The target column for ``task`` (numbers for regression, labels otherwise), checked."""
    import pandas as pd

    values = frame[target]
    if task == "regression":
        from mlops_assets.data.columns import _as_numbers

        return _as_numbers(target, values, path, "regression target")
    if pd.api.types.is_float_dtype(values) and (values % 1 == 0).all():
        values = values.astype("int64")  # 0.0/1.0, as pandas reads integers beside a gap
    elif not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.astype(str).str.strip()
    labels = sorted_labels(values)
    shown = [str(label) for label in labels[:10]]
    if task == "binary_classification":
        if len(labels) != 2:
            hint = " (use task multiclass_classification)" if len(labels) > 2 else ""
            raise DatasetError(
                f"{path}: column '{target}' holds {len(labels)} labels {shown}; "
                f"binary classification needs exactly two{hint}"
            )
        if positive_class is not None and positive_class not in {str(v) for v in labels}:
            raise DatasetError(
                f"{path}: data.positive_class {positive_class!r} is not a label of column "
                f"'{target}' (labels: {shown})"
            )
    elif not MIN_CLASSES <= len(labels) <= MAX_CLASSES:
        raise DatasetError(
            f"{path}: column '{target}' holds {len(labels)} labels {shown}; multiclass "
            f"classification needs {MIN_CLASSES} to {MAX_CLASSES}"
        )
    return values


def validate_table(
    frame: pd.DataFrame,
    path: Path,
    target: str,
    task: str,
    columns: dict | None = None,
    positive_class: str | None = None,
) -> Table:
    """Type every column (``data.columns`` overrides the inferred kinds), drop the rows whose
    target is missing (a row without a label can neither train nor score a model; its count
    is reported), and check the target suits ``task``."""
    from mlops_assets.data.columns import type_columns

    names = [str(c) for c in frame.columns]
    if target not in names:
        hint = ""
        if len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
            hint = " The header has a single column: is the delimiter a comma?"
        raise DatasetError(
            f"{path}: target column '{target}' not found (columns: {', '.join(names)}).{hint}"
        )
    if len(names) < 2:
        raise DatasetError(f"{path}: no feature columns besides the target '{target}'")
    missing_target = frame[target].isna()
    dropped = int(missing_target.sum())
    if dropped:  # the index keeps the file's row numbers: errors name the lines
        frame = frame[~missing_target.to_numpy()]
    if len(frame) < MIN_ROWS:
        with_target = " with a target" if dropped else ""
        raise DatasetError(
            f"{path}: {len(frame)} data rows{with_target}; at least {MIN_ROWS} are needed"
        )
    features, described = type_columns(frame, target, columns or {}, path)
    features[target] = _target(frame, path, target, task, positive_class)
    return Table(features.reset_index(drop=True), described, dropped)


def validate_dataset(frame: pd.DataFrame, path: Path, target: str, task: str) -> pd.DataFrame:
    """``validate_table``'s frame, with inferred kinds (the sample's way of reading)."""
    return validate_table(frame, path, target, task).frame


def load_table(
    path: Path,
    target: str,
    task: str,
    columns: dict | None = None,
    na_values: list[str] | tuple[str, ...] = (),
    positive_class: str | None = None,
) -> Table:
    """Read and validate ``path`` as ``data:`` in params.yaml describes it."""
    return validate_table(read_csv(path, na_values), path, target, task, columns, positive_class)


def load_dataset(path: Path, target: str, task: str, **options) -> pd.DataFrame:
    """Read and validate ``path``: typed feature columns and ``target`` (``load_table``)."""
    return load_table(path, target, task, **options).frame
