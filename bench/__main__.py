"""``python -m bench``: a no-op re-run against a full run, side by side in one process.

Both runs go through the CLI against the same persistent DAGSTER_HOME, with the project's own
params.yaml and data: the first trains, the second finds data, parameters and code unchanged and
restores the outputs. Target: the no-op run takes at most 15% of the full run's time.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from bench.project import CliProject

TARGET = 0.15


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--epochs", type=int, help="override train.epochs (default: params.yaml)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mlops-assets-bench-") as tmp:
        project = CliProject(Path(tmp), train={"epochs": args.epochs} if args.epochs else None)
        runs = {"full run": project.materialize(), "no-op re-run": project.materialize()}
        for name, run in runs.items():
            if run.returncode != 0:
                print(run.output[-3000:], file=sys.stderr)
                print(f"{name} failed (exit {run.returncode})", file=sys.stderr)
                return 1

    full, noop = runs["full run"].seconds, runs["no-op re-run"].seconds
    ratio = noop / full
    print(f"{'':<14}{'seconds':>9}{'ratio':>8}")
    print(f"{'full run':<14}{full:>9.1f}{1:>8.2f}")
    print(f"{'no-op re-run':<14}{noop:>9.1f}{ratio:>8.2f}   target <= {TARGET}")
    print(f"skip-unchanged ratio: {ratio:.3f} ({'met' if ratio <= TARGET else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
