"""Reading and validating a tabular data set: every failure names the file, column and line."""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


MIN_ROWS = 20


class DatasetError(ValueError):
    """The CSV cannot be used as it is; the message says where and why."""


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


def _line(row_index: int) -> int:
    """The 1-based line of the file that holds data row ``row_index`` (line 1 is the header)."""
    return row_index + 2


def read_csv(path: Path) -> pd.DataFrame:
    """Parse ``path`` as UTF-8 CSV with a header row, turning parser failures into DatasetErrors."""
    import pandas as pd

    _require_file(path)
    try:
        frame = pd.read_csv(path, encoding="utf-8", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DatasetError(
            f"{path}: the file is empty (expected a header row and data rows)"
        ) from None
    except pd.errors.ParserError as exc:
        raise DatasetError(f"{path}: unparsable CSV ({exc})".replace("\n", " ")) from None
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    header = _header(path)
    if len(set(header)) != len(header) or "" in header:
        raise DatasetError(f"{path}: duplicate or empty column names in the header: {header}")
    return frame


def _header(path: Path) -> list[str]:
    """The header as written (pandas renames duplicate names, which would hide them)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def validate_dataset(frame: pd.DataFrame, path: Path, target: str, task: str) -> pd.DataFrame:
    """Check the frame is a usable numeric table with ``target``; return it as float columns."""
    import numpy as np
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    if target not in columns:
        hint = ""
        if len(columns) == 1 and any(sep in columns[0] for sep in ";\t|"):
            hint = " The header has a single column: is the delimiter a comma?"
        raise DatasetError(
            f"{path}: target column '{target}' not found (columns: {', '.join(columns)}).{hint}"
        )
    if len(columns) < 2:
        raise DatasetError(f"{path}: no feature columns besides the target '{target}'")
    numeric = {}
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values):
            coerced = pd.to_numeric(values, errors="coerce")
            bad = values.notna() & coerced.isna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DatasetError(
                    f"{path}: column '{column}', line {_line(row)}: "
                    f"non-numeric value {values.iloc[row]!r}"
                )
            values = coerced
        numeric[column] = values.astype("float64")
    data = pd.DataFrame(numeric)

    finite = np.isfinite(data.to_numpy())
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        value = data.iat[row, col]
        kind = "missing value" if math.isnan(value) else f"infinite value {value}"
        raise DatasetError(f"{path}: column '{data.columns[col]}', line {_line(row)}: {kind}")

    if len(data) < MIN_ROWS:
        raise DatasetError(f"{path}: {len(data)} data rows; at least {MIN_ROWS} are needed")

    if task == "binary_classification":
        classes = sorted(data[target].unique().tolist())
        if len(classes) < 2:
            raise DatasetError(
                f"{path}: column '{target}' has a single class {classes}; "
                "binary classification needs both 0 and 1"
            )
        if not set(classes) <= {0.0, 1.0}:
            raise DatasetError(
                f"{path}: column '{target}' must hold 0 and 1 for binary classification, "
                f"found {classes[:10]}"
            )
    return data


def load_dataset(path: Path, target: str, task: str) -> pd.DataFrame:
    """Read and validate ``path``: a numeric table with ``target`` and at least one feature."""
    return validate_dataset(read_csv(path), path, target, task)
