"""Where models and reports live: one directory per Dagster run, and ``latest`` pointed at one
atomically. (Moving ``latest`` is not a promotion: that word is kept for the ``champion`` alias.)

``latest`` is a symlink swapped with a single ``rename``; readers see the previous complete set
of files or the new one, never a mixture, and a failed run never touches it. DVC does not follow
that symlink between commits, so pointing it also mirrors the metrics and plots into ``dvc/``.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlops_assets.artifacts.layout import (
    LABELS_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PLOTS_DIR,
    REPORT_FILE,
)

LATEST = "latest"
RUNS = "runs"
COMMENT = "pr_comment.md"  # the last pull-request comment body, wherever it was posted
DVC_MIRROR = "dvc"  # plain copies of latest's metrics.json and plots/ (dvc.yaml metrics, plots)
DVC_MIRRORED = (METRICS_FILE, PLOTS_DIR)
COMPLETE_SET = (MODEL_FILE, METRICS_FILE, REPORT_FILE)  # what a run needs to become latest
# In a run directory that was once latest: where repair looks. The file keeps its old name so
# that run directories written before the rename still count.
WAS_LATEST_MARK = ".promoted"


class ArtifactStoreError(RuntimeError):
    """A run's directory cannot be written; the message names it."""


@dataclass(frozen=True)
class RunArtifacts:
    """Run-scoped artifact directories under ``root``, with ``root/latest`` the last good run."""

    root_path: Path
    keep_runs: int = 10  # run directories kept besides latest

    @property
    def latest(self) -> Path:
        return self.root_path / LATEST

    @property
    def comment_path(self) -> Path:
        return self.root_path / COMMENT

    def run_dir(self, run_id: str) -> Path:
        path = self.root_path / RUNS / run_id
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ArtifactStoreError(
                f"{path}: cannot create the run's directory ({error.strerror}); check the "
                f"permissions and free space of {self.root_path}"
            ) from None
        return path

    def is_complete(self, run_dir: Path) -> bool:
        """Whether ``run_dir`` holds a model with its report, ready to be ``latest``."""
        return all((run_dir / name).is_file() for name in COMPLETE_SET)

    def adopt(self, file: Path, run_id: str) -> Path:
        """``file`` (say, a model an earlier run trained) in run ``run_id``'s directory, copied
        there when it lives elsewhere, so the run's directory is a complete set."""
        destination = self.run_dir(run_id) / file.name
        if file != destination:
            shutil.copy2(file, destination)
        return destination

    def adopt_model(self, model: Path, run_id: str) -> Path:
        """``model``, with the class labels saved beside it when it has them (a classifier's
        ``labels.json``), in run ``run_id``'s directory; returns the model's path there."""
        adopted = self.adopt(model, run_id)
        labels = model.with_name(LABELS_FILE)
        if labels.is_file():
            self.adopt(labels, run_id)
        return adopted

    def point_latest(self, run_dir: Path) -> Path:
        """Point ``latest`` at ``run_dir`` in one atomic step, then prune old run directories."""
        link = self.latest
        if link.resolve() == run_dir.resolve():
            return link
        (run_dir / WAS_LATEST_MARK).touch()
        self._swap_latest(run_dir)
        self._mirror_for_dvc(run_dir)
        self._prune(keep=run_dir)
        return link

    def repair_latest(self) -> str | None:
        """When ``latest`` dangles or names an incomplete set (its run directory deleted by
        hand, say), point it at the newest complete run that was once latest. Returns what
        was done, for a warning; None when there was nothing to repair."""
        link = self.latest
        if not link.is_symlink() or self.is_complete(link):
            return None  # absent, a directory kept by hand, or whole
        broken = os.readlink(link)
        runs_dir = self.root_path / RUNS
        once_latest = sorted(
            (
                p
                for p in (runs_dir.iterdir() if runs_dir.is_dir() else [])
                if (p / WAS_LATEST_MARK).is_file() and self.is_complete(p)
            ),
            key=lambda p: (p / WAS_LATEST_MARK).stat().st_mtime,
            reverse=True,
        )
        gone = f"{link} pointed at {broken}, which is gone or incomplete"
        if not once_latest:
            link.unlink()
            return f"{gone}; no complete run is left, so the link is removed"
        self._swap_latest(once_latest[0])
        self._mirror_for_dvc(once_latest[0])
        return f"{gone}; it points at {once_latest[0]} again, the last complete run it pointed at"

    def _swap_latest(self, run_dir: Path) -> None:
        link = self.latest
        staged = link.with_name(f".{LATEST}.{os.getpid()}")
        staged.unlink(missing_ok=True)
        staged.symlink_to(Path(RUNS) / run_dir.name, target_is_directory=True)
        if link.exists() and not link.is_symlink():  # a plain directory left by hand: keep it aside
            link.rename(link.with_name(f"{LATEST}.previous"))
        os.replace(staged, link)

    def _mirror_for_dvc(self, run_dir: Path) -> None:
        """Replace ``root/dvc`` with a copy of the run's metrics and plots (a plain directory,
        so ``dvc metrics diff`` and ``dvc plots diff`` can read it from any commit)."""
        mirror = self.root_path / DVC_MIRROR
        staged = mirror.with_name(f".dvc-mirror.{os.getpid()}")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir()
        for name in DVC_MIRRORED:
            source = run_dir / name
            if source.is_dir():
                shutil.copytree(source, staged / name)
            elif source.exists():
                shutil.copy2(source, staged / name)
        retired = mirror.with_name(f"{staged.name}.old")
        if mirror.exists():
            mirror.rename(retired)
        staged.rename(mirror)
        shutil.rmtree(retired, ignore_errors=True)

    def _prune(self, keep: Path) -> None:
        runs = sorted(
            (p for p in (self.root_path / RUNS).iterdir() if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        current = self.latest.resolve()
        for old in runs[self.keep_runs :]:
            if old.resolve() not in (current, keep.resolve()):
                shutil.rmtree(old, ignore_errors=True)
