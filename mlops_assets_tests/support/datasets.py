"""Small CSVs shaped like the public files users bring, generated deterministically (nothing is
downloaded): the Kaggle heart-failure file (string categoricals, a few empty cells, target
``HeartDisease``), the UCI Cleveland file (``?`` markers, target ``num`` 0..4), and
scikit-learn's bundled wine data (three classes). Shared by the tests and bench/."""

from pathlib import Path

import numpy as np
import pandas as pd


def _logistic(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def heart_frame(rows: int = 918, seed: int = 0, blanks: int = 12) -> pd.DataFrame:
    """Columns of heart.csv: Age, Sex (M/F), ChestPainType (ATA/NAP/ASY/TA), RestingBP,
    Cholesterol, FastingBS (0/1), RestingECG (Normal/ST/LVH), MaxHR, ExerciseAngina (Y/N),
    Oldpeak, ST_Slope (Up/Flat/Down); HeartDisease depends on most of them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "Age": rng.integers(28, 78, rows),
            "Sex": rng.choice(["M", "F"], rows, p=[0.79, 0.21]),
            "ChestPainType": rng.choice(
                ["ASY", "NAP", "ATA", "TA"], rows, p=[0.54, 0.22, 0.19, 0.05]
            ),
            "RestingBP": rng.normal(132, 18, rows).round(),
            "Cholesterol": rng.normal(240, 55, rows).round(),
            "FastingBS": rng.choice([0, 1], rows, p=[0.77, 0.23]),
            "RestingECG": rng.choice(["Normal", "ST", "LVH"], rows, p=[0.6, 0.2, 0.2]),
            "MaxHR": rng.normal(137, 25, rows).round(),
            "ExerciseAngina": rng.choice(["N", "Y"], rows, p=[0.6, 0.4]),
            "Oldpeak": rng.gamma(1.2, 0.75, rows).round(1),
            "ST_Slope": rng.choice(["Up", "Flat", "Down"], rows, p=[0.43, 0.5, 0.07]),
        }
    )
    z = (
        0.04 * (frame["Age"] - 53)
        + 1.0 * (frame["Sex"] == "M")
        + frame["ChestPainType"].map({"ASY": 1.3, "NAP": -0.4, "ATA": -1.2, "TA": -0.3})
        + 0.9 * frame["FastingBS"]
        - 0.015 * (frame["MaxHR"] - 137)
        + 1.0 * (frame["ExerciseAngina"] == "Y")
        + 0.5 * frame["Oldpeak"]
        + frame["ST_Slope"].map({"Up": -1.4, "Flat": 1.1, "Down": 0.8})
        - 0.9
    )
    frame["HeartDisease"] = (rng.random(rows) < _logistic(z.to_numpy())).astype(int)
    for column in ("Cholesterol", "RestingECG", "MaxHR"):  # a few empty cells
        frame.loc[rng.choice(rows, blanks, replace=False), column] = np.nan
    return frame


def cleveland_frame(rows: int = 303, seed: int = 1) -> pd.DataFrame:
    """processed.cleveland.data's columns with a header: integer codes (sex, cp, fbs,
    restecg, exang, slope, thal), numbers, ``?`` in ``ca`` and ``thal``; ``num`` 0..4."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(29, 78, rows).astype(float),
            "sex": rng.choice([0.0, 1.0], rows, p=[0.32, 0.68]),
            "cp": rng.choice([1.0, 2.0, 3.0, 4.0], rows, p=[0.08, 0.16, 0.28, 0.48]),
            "trestbps": rng.normal(131, 17, rows).round(),
            "chol": rng.normal(246, 50, rows).round(),
            "fbs": rng.choice([0.0, 1.0], rows, p=[0.85, 0.15]),
            "restecg": rng.choice([0.0, 1.0, 2.0], rows, p=[0.5, 0.02, 0.48]),
            "thalach": rng.normal(150, 22, rows).round(),
            "exang": rng.choice([0.0, 1.0], rows, p=[0.67, 0.33]),
            "oldpeak": rng.gamma(1.1, 0.95, rows).round(1),
            "slope": rng.choice([1.0, 2.0, 3.0], rows, p=[0.47, 0.46, 0.07]),
            "ca": rng.choice([0.0, 1.0, 2.0, 3.0], rows, p=[0.58, 0.22, 0.13, 0.07]),
            "thal": rng.choice([3.0, 6.0, 7.0], rows, p=[0.55, 0.06, 0.39]),
        }
    )
    severity = (
        0.6 * (frame["cp"] == 4)
        + 0.5 * frame["ca"]
        + 0.7 * (frame["thal"] == 7)
        + 0.5 * frame["exang"]
        + 0.35 * frame["oldpeak"]
        - 0.02 * (frame["thalach"] - 150)
        + 0.3 * frame["sex"]
        + rng.normal(0, 0.6, rows)
    )
    frame["num"] = np.digitize(severity, [1.2, 2.0, 2.6, 3.2])
    text = frame.astype(object)
    for column, count in (("ca", 4), ("thal", 2)):
        text.loc[rng.choice(rows, count, replace=False), column] = "?"
    return text


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def heart_csv(directory: Path, **options) -> Path:
    return write_csv(heart_frame(**options), directory / "heart.csv")


def cleveland_csv(directory: Path, **options) -> Path:
    return write_csv(cleveland_frame(**options), directory / "cleveland.csv")


def wine_csv(directory: Path) -> Path:
    """scikit-learn's bundled wine data (178 rows, 13 numbers, classes 0, 1, 2) as a CSV."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    return write_csv(frame, directory / "wine.csv")
