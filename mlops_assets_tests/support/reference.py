"""The acceptance tests' reference: scikit-learn on the very split the pipeline made, imputed
the same way (training median plus a missing indicator for numbers, the most frequent training
value for categories), one-hot and standardised. Never part of the package or the model."""

import numpy as np

from mlops_assets.records import CATEGORICAL, FeatureSet
from mlops_assets.report.metrics import compute_metrics


def _design(features: FeatureSet):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c.name for c in features.columns if c.kind == CATEGORICAL]
    numeric = [c.name for c in features.columns if c.kind != CATEGORICAL]
    return ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                numeric,
            ),
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                    StandardScaler(with_mean=False),
                ),
                categorical,
            ),
        ]
    )


def _frame(features: FeatureSet, frame):
    """Categories as plain objects (scikit-learn's imputer wants NaN, not pandas' NA)."""
    out = frame.copy()
    for column in features.columns:
        if column.kind == CATEGORICAL:
            values = out[column.name].astype(object)
            out[column.name] = values.where(values.notna(), np.nan)
    return out


def reference_metrics(features: FeatureSet) -> dict[str, float]:
    """Held-out metrics of logistic regression (classification) or least squares (regression)."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline

    estimator = (
        LinearRegression() if features.task == "regression" else LogisticRegression(max_iter=5000)
    )
    model = make_pipeline(_design(features), estimator)
    model.fit(_frame(features, features.x_train), features.y_train)
    x_test = _frame(features, features.x_test)
    if features.task == "regression":
        y_out = model.predict(x_test)
    else:
        proba = model.predict_proba(x_test)
        y_out = proba[:, 1] if features.task == "binary_classification" else proba
    return compute_metrics(features.task, features.y_test, y_out)


logistic_reference = reference_metrics
