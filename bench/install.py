"""Cold installs: the project with the CPU-only TensorFlow build against the full one.

Each variant is installed into a fresh virtualenv with no pip cache (``--no-cache-dir``, and an
empty ``PIP_CACHE_DIR`` in case a configuration turns the cache back on), from a copy of the
package's files (what the Dockerfile copies), so the source tree gets no build output. The
virtualenv is created before the clock starts (its size is reported); the time is pip's
resolve, downloads, unpacking and byte-compiling; the size is ``du`` of the whole virtualenv.
The variants alternate when ``repeats`` > 1. Each virtualenv is about 2 to 3 GB and is deleted
as soon as it is measured.

``tensorflow`` is the state before the extras: it installs exactly what the old core
dependency line did. ``cpu`` is what the GitHub workflows and the image install now.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import INFO, PROJECT, Figure, median

VARIANTS = ("tensorflow", "cpu")
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", "mlops_assets")
CHECK = (
    "from importlib.metadata import version, PackageNotFoundError\n"
    "from mlops_assets.modeling.tensorflow_import import import_tensorflow\n"
    "tf = import_tensorflow()\n"
    "builds = []\n"
    "for name in ('tensorflow', 'tensorflow-cpu'):\n"
    "    try: builds.append(f'{name}=={version(name)}')\n"
    "    except PackageNotFoundError: pass\n"
    "print(tf.__version__, *builds)\n"
)


def du(path: Path) -> int:
    """Bytes on disk (``du -sb``: apparent sizes, hard links counted once)."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def cold_install(extra: str, root: Path) -> dict:
    source = root / "src"
    source.mkdir(parents=True)
    for name in PACKAGE_FILES:
        copy = shutil.copytree if (PROJECT / name).is_dir() else shutil.copy2
        copy(PROJECT / name, source / name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    empty = du(venv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(
        PIP_NO_CACHE_DIR="1",
        PIP_CACHE_DIR=str(root / "pip-cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-cache-dir"]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--quiet", f"{source}[{extra}]"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"pip install .[{extra}] failed:\n{done.stderr[-3000:]}")
    size = du(venv)
    checked = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CHECK],
        cwd=PROJECT,  # params.yaml is looked up in the project directory
        env={**env, "MLOPS_ASSETS_PROJECT_DIR": str(PROJECT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if checked.returncode != 0:
        raise RuntimeError(f".[{extra}]: TensorFlow does not import:\n{checked.stderr[-3000:]}")
    cache = du(root / "pip-cache") if (root / "pip-cache").exists() else 0
    site = next((venv / "lib").glob("python3*/site-packages"))
    largest = sorted(
        ((du(path), path.name) for path in site.iterdir() if not path.name.endswith("-info")),
        reverse=True,
    )[:4]
    return {
        "seconds": seconds,
        "bytes": size,
        "empty": empty,
        "cache": cache,
        "builds": checked.stdout.split()[1:],
        "largest": [f"{name} {size / 2**20:.0f}" for size, name in largest],
    }


def run(repeats: int = 1) -> list[Figure]:
    results: dict[str, list[dict]] = {extra: [] for extra in VARIANTS}
    for _ in range(repeats):
        for extra in VARIANTS:
            with tempfile.TemporaryDirectory(prefix=f"bench-install-{extra}-") as tmp:
                results[extra].append(cold_install(extra, Path(tmp)))
    before, after = (
        {key: median([r[key] for r in results[extra]]) for key in ("seconds", "bytes")}
        for extra in VARIANTS
    )
    gib = 1024**3
    builds = {e: " ".join(results[e][0]["builds"]) for e in VARIANTS}
    return [
        Figure(
            "cold install time, .[cpu] / .[tensorflow]",
            after["seconds"] / before["seconds"],
            "<= 1.0",
            after["seconds"] <= before["seconds"],
            f"{after['seconds']:.0f}s / {before['seconds']:.0f}s"
            f" (medians of {repeats}; {builds['cpu']} / {builds['tensorflow']})",
        ),
        Figure(
            "installed size (du of the venv), .[cpu] / .[tensorflow]",
            after["bytes"] / before["bytes"],
            "<= 0.9",
            after["bytes"] <= 0.9 * before["bytes"],
            f"{after['bytes'] / gib:.2f} GiB / {before['bytes'] / gib:.2f} GiB"
            f" (an empty venv: {results['cpu'][0]['empty'] / 2**20:.0f} MiB;"
            f" pip cache left: {results['cpu'][0]['cache']} B)",
        ),
        Figure(
            "installed size saved by .[cpu]",
            (before["bytes"] - after["bytes"]) / 2**20,
            INFO,
            True,
            "MiB; largest packages (MiB): "
            + "; ".join(f"{e}: {', '.join(results[e][0]['largest'])}" for e in VARIANTS),
        ),
    ]
