"""Scale: synthetic data with the sample's schema at 100k and 1M rows, one epoch each.

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
from mlops_assets.data.dataset import load_dataset
from mlops_assets.data.features import split_features
from mlops_assets.modeling.keras_model import train_model
from mlops_assets.defs.config import TrainConfig

start = time.perf_counter()
frame = load_dataset(Path({path!r}), "target", "regression")
features = split_features(frame, "target", "regression", 0.2, 42)
del frame
prepared = time.perf_counter()
train_model(features, TrainConfig(epochs=1, batch_size=256, early_stopping_patience=0))
trained = time.perf_counter()
print(json.dumps({{
    "load_features_s": prepared - start,
    "train_s": trained - prepared,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
"""


def synthetic_csv(rows: int, directory: Path, seed: int = 0) -> Path:
    """A CSV with the diabetes sample's columns and a noisy linear target, written in chunks."""
    header = (PROJECT / "data" / "diabetes.csv").read_text().splitlines()[0].split(",")
    features = [c for c in header if c != "target"]
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=len(features))
    path = directory / f"synthetic_{rows}.csv"
    with path.open("w") as handle:
        handle.write(",".join(header) + "\n")
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            x = rng.normal(loc=50, scale=10, size=(n, len(features)))
            y = x @ weights + rng.normal(scale=5, size=n)
            block = np.column_stack([x, y])
            np.savetxt(handle, block, delimiter=",", fmt="%.5g")
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
