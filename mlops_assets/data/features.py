"""Turning a validated table into a seeded train/test split, with the target encoded and each
column's fill value taken from the training split only."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mlops_assets.data.dataset import sorted_labels
from mlops_assets.data.errors import DatasetError
from mlops_assets.records import CATEGORICAL, Column, FeatureSet

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CLASSIFICATION = ("binary_classification", "multiclass_classification")


def encode_target(
    values: pd.Series, task: str, positive_class: str | None = None
) -> tuple[np.ndarray, list]:
    """The target as float32 numbers (regression) or class indices, and the labels by index.
    Binary: the positive class is index 1 (``data.positive_class``, else the last label in
    sorted order: 1 of 0/1, Yes of No/Yes, True of False/True)."""
    import numpy as np

    if task not in CLASSIFICATION:
        return values.to_numpy(dtype=np.float32), []
    labels = sorted_labels(values)
    if task == "binary_classification" and positive_class is not None:
        labels.sort(key=lambda label: str(label) == positive_class)
    index = {label: i for i, label in enumerate(labels)}
    codes = values.map(index).to_numpy(dtype=np.float32)
    return codes, [label.item() if hasattr(label, "item") else label for label in labels]


def _fill(column: Column, train: pd.Series) -> Column:
    """``column`` with the value its missing cells become: the training median, or the most
    frequent training value; numeric columns with training gaps also get an indicator."""
    present = train.dropna()
    if column.kind == CATEGORICAL:
        mode = present.mode()
        fill = mode.iloc[0] if len(mode) else ("" if column.dtype == "string" else 0)
        fill = fill.item() if hasattr(fill, "item") else fill
        return replace(column, fill=fill, categories=int(present.nunique()))
    median = float(present.median()) if len(present) else 0.0
    return replace(column, fill=median, missing_indicator=bool(len(present) < len(train)))


def split_features(
    data: pd.DataFrame,
    target: str,
    task: str,
    test_fraction: float,
    seed: int,
    data_hash: str = "",
    columns: list[Column] | None = None,
    positive_class: str | None = None,
    source: str = "",
) -> FeatureSet:
    """Split seeded (stratified by class for classification); fills from the training rows.
    A split that cannot be drawn is a ``DatasetError`` naming ``source`` (the CSV)."""
    from sklearn.model_selection import train_test_split

    if columns is None:  # a frame of numbers, as the sample is
        columns = [
            Column(c, "numeric", "float", float(data[c].isna().mean()))
            for c in data.columns
            if c != target
        ]
    names = [column.name for column in columns]
    y, classes = encode_target(data[target], task, positive_class)
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            data[names],
            y,
            test_size=test_fraction,
            random_state=seed,
            stratify=y if task in CLASSIFICATION else None,
        )
    except ValueError as exc:
        where = f"{source}: " if source else ""
        raise DatasetError(
            f"{where}cannot split {len(y)} rows of target '{target}' with "
            f"data.test_fraction={test_fraction}: {exc}"
        ) from None
    return FeatureSet(
        columns=[_fill(column, x_train[column.name]) for column in columns],
        target=target,
        task=task,
        x_train=x_train.reset_index(drop=True),
        y_train=y_train,
        x_test=x_test.reset_index(drop=True),
        y_test=y_test,
        seed=seed,
        classes=classes,
        data_hash=data_hash,
    )


def feature_statistics(features: FeatureSet) -> pd.DataFrame:
    """One row per column: kind, missing share, the imputed value, and for numbers the
    training mean, std, min and max (metadata, report, drift reading)."""
    import pandas as pd

    rows = []
    for column in features.columns:
        train = features.x_train[column.name]
        row = {
            "column": column.name,
            "kind": column.description,
            "missing": f"{column.missing_fraction:.1%}",
            "imputed with": column.fill,
        }
        if column.kind == CATEGORICAL:
            row["categories"] = column.categories
        else:
            row |= {"mean": train.mean(), "std": train.std(ddof=0)}
            row |= {"min": train.min(), "max": train.max()}
        rows.append(row)
    return pd.DataFrame(rows)
