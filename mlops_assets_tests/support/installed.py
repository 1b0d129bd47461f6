"""The package as a user gets it: a wheel built from this checkout, installed into a fresh
virtualenv where no checkout of ours is importable.

Offline and fast: the virtualenv sees the test environment's installed dependencies through a
view of its site-packages that leaves ``mlops_assets`` (and the editable install's hooks) out,
and pip installs the wheel with its dependencies resolved against that view (``--no-index``:
a missing or conflicting dependency fails the install, as it would for a user). The TensorFlow
build the ``cpu`` extra names is a metadata stand-in when the environment has the other one
(``workflow_player._tensorflow_builds``).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from mlops_assets.settings import project_dir
from mlops_assets_tests.support.workflow_player import _tensorflow_builds

PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", "mlops_assets")
PIP_WHEEL = [
    sys.executable,
    "-m",
    "pip",
    "wheel",
    "--no-deps",
    "--no-build-isolation",
    "--no-index",
]
OURS = ("mlops_assets", "__editable__.mlops_assets", "__editable___mlops_assets")


def build_wheel(root: Path) -> Path:
    """``pip wheel`` of a copy of the package's files (the checkout gets no build output)."""
    source = root / "src"
    source.mkdir(parents=True)
    for name in PACKAGE_FILES:
        path = project_dir() / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    subprocess.run(
        [*PIP_WHEEL, "--no-build-isolation", "--wheel-dir", str(root / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = (root / "dist").glob("mlops_assets-*.whl")
    return wheel


def clean_env(venv: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell with ``venv`` activated: nothing of ours on
    ``PYTHONPATH``, no project, tracking or GitHub settings inherited from the test run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH"
        and not k.startswith(("MLOPS_ASSETS_", "MLFLOW_", "DAGSTER_", "GITHUB_", "PIP_"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    return {**env, **extra}


def install_wheel(wheel: Path, root: Path, extra: str = "cpu") -> Path:
    """A virtualenv under ``root`` holding ``wheel[extra]``; returns the virtualenv."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shared = Path(sysconfig.get_paths()["purelib"])
    view = root / "dependencies"
    view.mkdir()
    for entry in shared.iterdir():
        if not entry.name.startswith(OURS) and not entry.name.endswith(".pth"):
            (view / entry.name).symlink_to(entry)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "_dependencies.pth").write_text(f"{view}\n")
    links = ["--find-links", str(_tensorflow_builds(root / "stand-ins"))]
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--quiet"]
    done = subprocess.run(
        [*pip, *links, f"{wheel}[{extra}]"],
        env=clean_env(venv, PIP_DISABLE_PIP_VERSION_CHECK="1"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv
