"""Batch scoring: ``mlops-assets predict`` on a generated 1M-row CSV (the scale benchmark's
columns: the sample's numbers and 5 text categories with 1% gaps), with a model trained for one
epoch on 20k rows of the same kind and scored as ``--model latest``.

Prints the command's peak RSS (``getrusage(RUSAGE_CHILDREN)`` in a wrapper interpreter that
runs only it) against the 2 GiB target, its peak at 1M rows over its peak at 100k (chunked
reading: memory does not grow with the file), and rows per second, of the scoring loop alone
(as the command reports it) and of the whole command. Files are generated into a temporary
directory and removed.
"""

import json
import re
import shutil
import tempfile
from pathlib import Path

from bench.common import INFO, PROJECT, Figure, run_python
from bench.scale import synthetic_csv

TRAIN = r"""
from pathlib import Path
from mlops_assets.data.dataset import load_table
from mlops_assets.data.features import split_features
from mlops_assets.defs.config import TrainConfig
from mlops_assets.modeling.keras_model import save_model, train_model

table = load_table(Path({path!r}), "target", "regression")
features = split_features(table.frame, "target", "regression", 0.2, 42, columns=table.columns)
result = train_model(features, TrainConfig(epochs=1, batch_size=256, early_stopping_patience=0))
save_model(result.model, Path({model!r}))
"""

# A fresh interpreter that runs the command alone, so its children's peak is the command's.
SCORE = r"""
import json, os, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(
    [sys.executable, "-m", "mlops_assets", "predict", {csv!r}, "--model", "latest",
     "--out", {out!r}],
    env={{**os.environ, **{env!r}}}, capture_output=True, text=True,
)
wall = time.perf_counter() - start
if done.returncode != 0:
    sys.exit(done.stderr[-3000:])
print(json.dumps({{
    "wall_s": wall,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "stderr": done.stderr,
}}))
"""

REPORTED = re.compile(r"wrote ([\d,]+) rows .* in ([\d.]+) s")


def _project(root: Path) -> dict[str, str]:
    """A project directory (params.yaml) and its artifacts with ``latest`` -> a run's model."""
    root.mkdir(parents=True)
    shutil.copy2(PROJECT / "params.yaml", root / "params.yaml")
    run_dir = root / "artifacts" / "runs" / "bench"
    run_dir.mkdir(parents=True)
    (root / "artifacts" / "latest").symlink_to(Path("runs") / "bench", target_is_directory=True)
    return {
        "MLOPS_ASSETS_PROJECT_DIR": str(root),
        "MLOPS_ASSETS_ARTIFACTS_DIR": str(root / "artifacts"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
    }


def _score(csv: Path, out: Path, env: dict[str, str]) -> dict:
    result = json.loads(run_python(SCORE.format(csv=str(csv), out=str(out), env=env)))
    rows, seconds = REPORTED.search(result["stderr"]).groups()
    lines = sum(1 for _ in out.open(encoding="utf-8"))
    assert lines == int(rows.replace(",", "")) + 1, (lines, rows)
    return {**result, "rows": int(rows.replace(",", "")), "loop_s": float(seconds)}


def run(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = _project(tmp / "project")
        model = tmp / "project" / "artifacts" / "runs" / "bench" / "model.keras"
        run_python(TRAIN.format(path=str(synthetic_csv(20_000, tmp, seed=1)), model=str(model)))
        results = {}
        for rows in sizes:
            csv = synthetic_csv(rows, tmp, seed=2)
            results[rows] = _score(csv, tmp / f"scored_{rows}.csv", env)
            csv.unlink()
    small, large = results[sizes[0]], results[sizes[-1]]
    growth = large["peak_rss_mib"] / small["peak_rss_mib"]
    return [
        Figure(
            f"predict {large['rows']:,} rows: peak RSS (MiB)",
            large["peak_rss_mib"],
            "<= 2048",
            large["peak_rss_mib"] <= 2048,
            f"{sizes[0]:,} rows: {small['peak_rss_mib']:.0f} MiB",
        ),
        Figure(
            f"predict peak RSS: {sizes[-1]:,} / {sizes[0]:,} rows",
            growth,
            "<= 1.2",
            growth <= 1.2,
            "chunks of 100,000 rows",
        ),
        Figure(
            f"predict {large['rows']:,} rows: rows/s, scoring loop",
            large["rows"] / large["loop_s"],
            INFO,
            True,
            f"{large['loop_s']:.1f} s: read, predict, write",
        ),
        Figure(
            f"predict {large['rows']:,} rows: rows/s, whole command",
            large["rows"] / large["wall_s"],
            INFO,
            True,
            f"{large['wall_s']:.1f} s with imports and model load",
        ),
    ]
