"""Where models and reports live: one directory per Dagster run, and ``latest`` promoted atomically.

``latest`` is a symlink swapped with a single ``rename``; readers see the previous complete set
of files or the new one, never a mixture, and a failed run never touches it. DVC does not follow
that symlink between commits, so promotion also mirrors the metrics and plots into ``dvc/``.
"""

import os
import shutil
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

LATEST = "latest"
RUNS = "runs"
DVC_MIRROR = "dvc"  # plain copies of latest's metrics.json and plots/ (dvc.yaml metrics, plots)
DVC_MIRRORED = ("metrics.json", "plots")


class ArtifactStore(ConfigurableResource):
    """Run-scoped artifact directories under ``root``, with ``root/latest`` the last good run."""

    root: str = Field(description="Directory that holds runs/<run_id>/ and the latest link")
    keep_runs: int = Field(default=10, ge=1, description="Run directories kept besides latest")

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    @property
    def latest(self) -> Path:
        return self.root_path / LATEST

    def run_dir(self, run_id: str) -> Path:
        path = self.root_path / RUNS / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def promote(self, run_dir: Path) -> Path:
        """Point ``latest`` at ``run_dir`` in one atomic step, then prune old run directories."""
        link = self.latest
        staged = link.with_name(f".{LATEST}.{os.getpid()}")
        staged.unlink(missing_ok=True)
        staged.symlink_to(Path(RUNS) / run_dir.name, target_is_directory=True)
        if link.exists() and not link.is_symlink():  # a plain directory left by hand: keep it aside
            link.rename(link.with_name(f"{LATEST}.previous"))
        os.replace(staged, link)
        self._mirror_for_dvc(run_dir)
        self._prune(keep=run_dir)
        return link

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


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path
