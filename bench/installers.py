"""pip against uv, cold and warm: the time to install the project with the CPU-only TensorFlow
build into a fresh virtualenv, as the Makefile and the workflows do.

Cold: an empty cache of the installer's own (a fresh ``PIP_CACHE_DIR`` / ``UV_CACHE_DIR``), so
every wheel is fetched and unpacked. Warm: another fresh virtualenv, the cache the cold install
left. Each installer reads the same package sources: pip its configuration (the index, and the
extra indexes and find-links of this machine, if any); uv is handed the same ones, and
``unsafe-best-match`` so it picks versions across them as pip does. The virtualenv is created
before the clock starts; the time is the resolve, downloads, unpacking and linking. Each tool
runs with its defaults, as ``make`` runs it: pip byte-compiles at install, uv leaves that to the
first import; a third warm uv install with ``--compile-bytecode`` shows what that costs. Each
install is checked by importing TensorFlow through the package (not timed). The order is pip
cold, uv cold, pip warm, uv warm, uv warm compiled.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import INFO, PROJECT, Figure
from bench.install import CHECK, PACKAGE_FILES

EXTRA = "cpu"


def uv_binary() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        raise RuntimeError("uv is not installed: pip install uv (the dev extra has it)")
    return found


def pip_sources() -> list[str]:
    """uv's flags for the package sources pip is configured with (``pip config list``)."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    flags = ["--index-strategy", "unsafe-best-match"]
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        value = value.strip().strip("'\"")
        if key.endswith(".extra-index-url"):
            flags += [f"--extra-index-url={url}" for url in value.split()]
        elif key.endswith(".index-url"):
            flags += [f"--index-url={value}"]
        elif key.endswith(".find-links"):
            flags += [f"--find-links={path}" for path in value.split()]
    return flags


def install(tool: str, source: Path, venv: Path, cache: Path, compiled: bool = False) -> float:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    if tool == "pip":
        subprocess.run([str(python), "-m", "ensurepip", "--upgrade"], capture_output=True)
        env.update(PIP_CACHE_DIR=str(cache), PIP_DISABLE_PIP_VERSION_CHECK="1")
        command = [str(python), "-m", "pip", "install", "--quiet"]
    else:
        env.update(UV_CACHE_DIR=str(cache))
        command = [uv_binary(), "pip", "install", "--quiet", "--python", str(python)]
        command += ["--compile-bytecode"] if compiled else []
        command += pip_sources()
    start = time.perf_counter()
    done = subprocess.run(
        [*command, f"{source}[{EXTRA}]"], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{tool} install .[{EXTRA}] failed:\n{done.stderr[-3000:]}")
    checked = subprocess.run(
        [str(python), "-c", CHECK],
        cwd=PROJECT,
        env={**env, "MLOPS_ASSETS_PROJECT_DIR": str(PROJECT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if checked.returncode != 0:
        raise RuntimeError(f"{tool}: TensorFlow does not import:\n{checked.stderr[-3000:]}")
    shutil.rmtree(venv)
    return seconds


def run() -> list[Figure]:
    times: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-installers-") as tmp:
        root = Path(tmp)
        source = root / "src"
        source.mkdir()
        for name in PACKAGE_FILES:
            if (PROJECT / name).exists():
                copy = shutil.copytree if (PROJECT / name).is_dir() else shutil.copy2
                copy(PROJECT / name, source / name)
        for state in ("cold", "warm"):
            for tool in ("pip", "uv"):
                times[tool, state] = install(tool, source, root / "venv", root / f"{tool}-cache")
                print(f"  {tool} {state}: {times[tool, state]:.1f}s", flush=True)
        compiled = install("uv", source, root / "venv", root / "uv-cache", compiled=True)
        print(f"  uv warm, --compile-bytecode: {compiled:.1f}s", flush=True)
    pip_cold, uv_cold = times["pip", "cold"], times["uv", "cold"]
    pip_warm, uv_warm = times["pip", "warm"], times["uv", "warm"]
    return [
        Figure(
            f"cold install of .[{EXTRA}], uv / pip (empty caches)",
            uv_cold / pip_cold,
            "<= 0.5",
            uv_cold <= 0.5 * pip_cold,
            f"{uv_cold:.0f}s / {pip_cold:.0f}s",
        ),
        Figure(
            f"warm install of .[{EXTRA}] with uv (its cache populated), seconds",
            uv_warm,
            "<= 20",
            uv_warm <= 20,
            f"pip warm: {pip_warm:.0f}s; uv warm / pip warm {uv_warm / pip_warm:.2f}",
        ),
        Figure(
            f"warm install of .[{EXTRA}] with uv --compile-bytecode, seconds",
            compiled,
            INFO,
            True,
            "byte-compiling at install, as pip does by default",
        ),
    ]
