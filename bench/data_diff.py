"""Data diff at scale: the base branch's CSV against the PR's, 1M rows, as the comment does it.

The PR appends 5% rows with one column shifted. Figures: the diff's seconds against reading the
two CSVs with pandas (measured side by side, interleaved), and its absolute time at 1M rows.
"""

import tempfile
from pathlib import Path

import numpy as np

from bench.common import Figure, interleaved
from bench.scale import synthetic_csv


def run(rows: int = 1_000_000, repeats: int = 3) -> list[Figure]:
    import pandas as pd

    from mlops_assets.data.diff import diff_tables

    with tempfile.TemporaryDirectory() as tmp:
        base_path = synthetic_csv(rows, Path(tmp))
        base = pd.read_csv(base_path)
        added = base.sample(rows // 20, random_state=0).assign(bmi=lambda f: f["bmi"] + 30)
        head_path = Path(tmp) / "head.csv"
        pd.concat([base, added]).to_csv(head_path, index=False)
        head = pd.read_csv(head_path)

        def read_both() -> None:
            pd.read_csv(base_path), pd.read_csv(head_path)

        diffs = []

        def diff() -> None:
            diffs.append(diff_tables(base, head))

        times = interleaved({"read": read_both, "diff": diff}, repeats)
    read_s, diff_s = float(np.median(times["read"])), float(np.median(times["diff"]))
    result = diffs[-1]
    flagged = [str(c.name) for c in result.flagged]
    return [
        Figure(
            f"data diff at {rows:,} rows / reading both CSVs",
            diff_s / read_s,
            "≤ 1.0",
            diff_s <= read_s,
            f"(medians of {repeats}: {diff_s:.2f} s / {read_s:.2f} s; +{result.rows_added:,} "
            f"rows, flagged {flagged})",
        ),
        Figure(f"data diff at {rows:,} rows, seconds", diff_s, "≤ 10 s", diff_s <= 10),
    ]
