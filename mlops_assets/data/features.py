"""Turning a validated table into a seeded train/test split with training-set statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_assets.records import FeatureSet

if TYPE_CHECKING:
    import pandas as pd


def split_features(
    data: pd.DataFrame,
    target: str,
    task: str,
    test_fraction: float,
    seed: int,
    data_hash: str = "",
) -> FeatureSet:
    """Split seeded (stratified by class for classification) and compute per-feature statistics."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    feature_names = [c for c in data.columns if c != target]
    x = data[feature_names].to_numpy(dtype=np.float32)
    y = data[target].to_numpy(dtype=np.float32)
    stratify = y if task == "binary_classification" else None
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=stratify
        )
    except ValueError as exc:
        raise ValueError(f"cannot split {len(y)} rows with test_fraction={test_fraction}: {exc}")
    return FeatureSet(
        feature_names=feature_names,
        target=target,
        task=task,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        mean=x_train.mean(axis=0, dtype=np.float64).astype(np.float32),
        variance=x_train.var(axis=0, dtype=np.float64).astype(np.float32),
        seed=seed,
        data_hash=data_hash,
    )


def feature_statistics(features: FeatureSet) -> pd.DataFrame:
    """One row per feature: training mean, std, min and max (for metadata and drift reading)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "feature": features.feature_names,
            "mean": features.mean,
            "std": features.std,
            "min": features.x_train.min(axis=0),
            "max": features.x_train.max(axis=0),
        }
    )
