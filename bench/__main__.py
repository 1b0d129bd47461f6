"""``python -m bench [name ...]``: run the benchmarks and print one line per figure."""

import importlib
import platform
import sys

BENCHMARKS = [
    "overhead",
    "import_time",
    "training",
    "scale",
    "scoring",
    "sensor_tick",
    "tracking_overhead",
    "data_diff",
    "skip_unchanged",
    "noop_vs_dvc",
    "installers",  # pip against uv, cold and warm (minutes, ~2 GB of downloads)
    "install",  # two cold installs (minutes, about 5 GB downloaded, 3 GB of disk at a time)
    "profile",  # no target: where a CLI run's time goes, phase by phase
]


def main(names: list[str]) -> int:
    import os

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    missed = 0
    for name in names or BENCHMARKS:
        for figure in importlib.import_module(f"bench.{name}").run():
            print(figure.line(), flush=True)
            missed += not figure.ok
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
