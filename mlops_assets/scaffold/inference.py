"""What the CSV says about itself: the task its target suggests and each feature column's kind,
inferred as a run infers them (``data.columns``), so params.yaml can show every choice."""

from dataclasses import dataclass, field
from pathlib import Path

from mlops_assets.data.dataset import MAX_CLASSES, MIN_CLASSES, read_csv, sorted_labels
from mlops_assets.data.errors import DatasetError


@dataclass(frozen=True)
class Inferred:
    task: str
    labels: list[str]  # the target's distinct labels (classification), sorted
    distinct: int  # distinct target values
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)  # text columns
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why it cannot be a feature


def infer_task(distinct: int, numbers: bool, integers: bool) -> str:
    """Two labels: binary; 3 to 50: multiclass (text, or whole numbers); otherwise regression."""
    if distinct == 2:
        return "binary_classification"
    if MIN_CLASSES <= distinct <= MAX_CLASSES and (not numbers or integers):
        return "multiclass_classification"
    return "regression"


def infer(path: Path, target: str) -> Inferred:
    """The task and the feature kinds of ``path`` for ``target``; ``DatasetError`` names the
    file when it cannot be read or the target is not a column."""
    import pandas as pd

    from mlops_assets.data.columns import type_columns

    frame = read_csv(path)
    names = [str(c) for c in frame.columns]
    if target not in names:
        raise DatasetError(
            f"{path}: target column '{target}' not found (columns: {', '.join(names)})"
        )
    values = frame[target].dropna()
    if values.empty:
        raise DatasetError(f"{path}: the target column '{target}' is empty")
    numbers = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    integers = bool(numbers and (values % 1 == 0).all())
    distinct = int(values.nunique())
    task = infer_task(distinct, numbers, integers)
    if task == "regression" and not numbers:
        raise DatasetError(
            f"{path}: the target '{target}' is text with {distinct} labels: a classification "
            f"needs {MAX_CLASSES} at most, a regression numbers"
        )
    labels = [str(v) for v in sorted_labels(values)] if task != "regression" else []
    inferred = Inferred(task, labels, distinct)
    for name in names:
        if name == target:
            continue
        try:  # one column at a time, so one unusable column does not hide the others' kinds
            _, [column] = type_columns(frame[[name, target]], target, {}, path)
        except DatasetError as error:
            inferred.dropped[name] = str(error).removeprefix(f"{path}: ")
            continue
        (inferred.numeric if column.kind == "numeric" else inferred.categorical).append(name)
    if not inferred.numeric and not inferred.categorical:
        raise DatasetError(f"{path}: no usable feature columns besides the target '{target}'")
    return inferred
