"""Scale: synthetic data with the sample's numeric schema plus 5 categorical (text) columns
with a few gaps, at 100k and 1M rows, one epoch each: the preprocessing layers (lookups,
fills, normalisation) run inside the model, as they do for users' own data.

Prints the peak RSS of each whole run and the seconds per 100k rows for loading + features and
for training. The data sets are generated into a temporary directory, never committed.
"""

import json
import tempfile
from pathlib import Path

import numpy as np

from bench.common import PROJECT, Figure, run_python

CHILD = r"""
import json, resource, time
from pathlib import Path
from mlops_assets.data.dataset import load_table
from mlops_assets.data.features import split_features
from mlops_assets.modeling.keras_model import train_model
from mlops_assets.defs.config import TrainConfig

start = time.perf_counter()
table = load_table(Path({path!r}), "target", "regression")
features = split_features(table.frame, "target", "regression", 0.2, 42, columns=table.columns)
del table
prepared = time.perf_counter()
train_model(features, TrainConfig(epochs=1, batch_size=256, early_stopping_patience=0))
trained = time.perf_counter()
print(json.dumps({{
    "load_features_s": prepared - start,
    "train_s": trained - prepared,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
"""


CATEGORIES = {  # 5 text columns, heart-file-like levels
    "Sex": ["M", "F"],
    "ChestPainType": ["ASY", "NAP", "ATA", "TA"],
    "RestingECG": ["Normal", "ST", "LVH"],
    "ExerciseAngina": ["Y", "N"],
    "ST_Slope": ["Up", "Flat", "Down"],
}


def synthetic_csv(rows: int, directory: Path, seed: int = 0) -> Path:
    """A CSV with the diabetes sample's numeric columns, 5 categorical ones (1% empty cells)
    and a noisy target depending on both, written in chunks."""
    import pandas as pd

    header = (PROJECT / "data" / "diabetes.csv").read_text().splitlines()[0].split(",")
    features = [c for c in header if c != "target"]
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=len(features))
    effects = {c: rng.normal(size=len(levels)) for c, levels in CATEGORIES.items()}
    path = directory / f"synthetic_{rows}.csv"
    for start in range(0, rows, 100_000):
        n = min(100_000, rows - start)
        x = rng.normal(loc=50, scale=10, size=(n, len(features)))
        y = x @ weights + rng.normal(scale=5, size=n)
        block = pd.DataFrame(x.round(3), columns=features)
        for column, levels in CATEGORIES.items():
            codes = rng.integers(0, len(levels), n)
            y += 5 * effects[column][codes]
            values = np.asarray(levels, dtype=object)[codes]
            values[rng.random(n) < 0.01] = None
            block[column] = values
        block["target"] = y.round(3)
        block.to_csv(path, mode="a", header=start == 0, index=False)
    return path


def run(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> list[Figure]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            path = synthetic_csv(rows, Path(tmp))
            results[rows] = json.loads(run_python(CHILD.format(path=str(path))).splitlines()[-1])
    small, large = sizes[0], sizes[-1]
    figures = []
    for rows, r in results.items():
        per = 100_000 / rows
        figures.append(
            Figure(
                f"{rows:>9,} rows: peak RSS (MiB)",
                r["peak_rss_mib"],
                "<= 2048",
                r["peak_rss_mib"] <= 2048,
                f"load+features {r['load_features_s'] * per:.3f}s/100k, "
                f"train {r['train_s'] * per:.3f}s/100k",
            )
        )
    for stage in ("load_features_s", "train_s"):
        ratio = (results[large][stage] / large) / (results[small][stage] / small)
        figures.append(
            Figure(
                f"per-row cost {stage[:-2]}: {large:,} / {small:,}", ratio, "<= 1.3", ratio <= 1.3
            )
        )
    return figures
