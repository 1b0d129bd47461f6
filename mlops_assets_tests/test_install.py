"""TensorFlow as an extra: the build `make` installs, and the message when none is installed."""

import os
import shutil
import subprocess
import sys

import pytest

from mlops_assets.settings import project_dir

ROOT = project_dir()

WITHOUT_TENSORFLOW = r"""
import sys

class NoTensorFlow:  # an install without a TensorFlow extra: no tensorflow, no keras
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTensorFlow())
from mlops_assets.modeling.keras_model import load_model
try:
    load_model("model.keras")
except ModuleNotFoundError as exc:
    print(type(exc).__name__, exc)
"""


def test_a_model_without_tensorflow_installed_says_which_extra_to_install():
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("TensorFlowMissing TensorFlow is not installed."), done.stdout
    assert "pip install -e '.[cpu]'" in done.stdout
    assert "pip install -e '.[tensorflow]'" in done.stdout


def make(*args: str) -> subprocess.CompletedProcess:
    """`make` with only the variables given: not the TENSORFLOW CI sets for the suite's run."""
    env = {k: v for k, v in os.environ.items() if k not in ("TENSORFLOW", "MAKEFLAGS")}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def venv(tmp_path):
    """A virtualenv as `make install` leaves it, without the packages: its python and stamp."""
    if not shutil.which("make"):
        pytest.skip("make not installed")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()
    return tmp_path


def test_make_installs_the_tensorflow_build_asked_for(tmp_path):
    if not shutil.which("make"):
        pytest.skip("make not installed")
    fresh = str(tmp_path / "venv")
    assert "-e '.[tensorflow]'" in make("-n", "install", f"VENV={fresh}").stdout
    cpu = make("-n", "install-dev", f"VENV={fresh}", "TENSORFLOW=cpu").stdout
    assert "-e '.[cpu]'" in cpu and "-e '.[dev,cpu]'" in cpu


def test_a_virtualenv_keeps_its_build_and_refuses_the_other(venv):
    (venv / ".installed").write_text("cpu\n")

    assert make("install", f"VENV={venv}").returncode == 0  # its stamp is the default
    switched = make("install", f"VENV={venv}", "TENSORFLOW=tensorflow")
    assert switched.returncode == 2
    assert "has the TensorFlow extra 'cpu', not 'tensorflow': remove" in switched.stderr
    unknown = make("install", f"VENV={venv}", "TENSORFLOW=gpu")
    assert "TENSORFLOW=gpu: choose tensorflow or cpu" in unknown.stderr


def test_a_virtualenv_from_before_the_extras_has_the_full_build(venv):
    (venv / ".installed").touch()  # the stamp was empty then

    assert make("install", f"VENV={venv}").returncode == 0
    assert make("install", f"VENV={venv}", "TENSORFLOW=cpu").returncode == 2
