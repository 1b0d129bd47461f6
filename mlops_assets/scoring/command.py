"""Scoring as a user asks for it, from ``mlops-assets predict`` or the Dagster ``score`` job:
the model chosen, the output's default place, progress said as the chunks go by.

The output defaults to ``<csv stem>.predictions.csv`` beside the input; ``-`` is standard
output (the CLI's messages go to standard error).
"""

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlops_assets.scoring import ScoringError
from mlops_assets.scoring.batch import CHUNK_ROWS, Progress, Scored, score_csv
from mlops_assets.scoring.models import ScoringModel, resolve_model
from mlops_assets.tracking.location import TrackingLocation

STDOUT = "-"
SUFFIX = ".predictions.csv"


def project_na_values() -> tuple[str, ...]:
    """The cells ``params.yaml`` reads as gaps (``data.na_values``), as training read them;
    none when the file cannot be read (a scoring-only checkout)."""
    from mlops_assets.params import ParamsError, load_params
    from mlops_assets.settings import params_path

    try:
        return tuple(load_params(params_path()).data.na_values)
    except (ParamsError, OSError):
        return ()


def default_out(csv: Path) -> Path:
    """``data/new.csv`` -> ``data/new.predictions.csv``."""
    return csv.with_name(f"{csv.stem}{SUFFIX}")


@dataclass(frozen=True)
class ScoreRun:
    model: ScoringModel
    out: Path | None  # None: standard output
    scored: Scored


def progress_line(progress: Progress) -> str:
    return (
        f"scored {progress.rows:,} rows ({progress.fraction:.0%} of the file, "
        f"{progress.rows_per_second:,.0f} rows/s)"
    )


def score(
    csv: Path,
    *,
    out: str = "",
    model: str = "",
    artifacts: Path,
    location: TrackingLocation,
    model_name: str,
    na_values: tuple[str, ...] = (),
    chunk_rows: int = CHUNK_ROWS,
    say: Callable[[str], None] = print,
    on_progress: Callable[[Progress], None] | None = None,
) -> ScoreRun:
    """Score ``csv`` with the model ``model`` names (``scoring.models``) into ``out``."""
    from mlops_assets.modeling.keras_model import load_model
    from mlops_assets.scoring.batch import read_header

    target = None if out == STDOUT else Path(out) if out else default_out(csv)
    read_header(csv)  # mistakes found without the model are said before it is loaded
    if chunk_rows < 1:
        raise ScoringError(f"chunk rows must be at least 1, not {chunk_rows}")
    if target is not None and target.resolve() == csv.resolve():
        raise ScoringError(f"{target}: the output would overwrite the input; choose another --out")
    with tempfile.TemporaryDirectory(prefix="mlops-assets-score-") as work:
        where = {"artifacts": artifacts, "location": location, "model_name": model_name}
        chosen = resolve_model(model, **where, work_dir=Path(work))
        say(f"scoring {csv} with {chosen.description}")
        keras_model = load_model(chosen.path)
    scored = score_csv(
        keras_model,
        chosen.labels,
        csv,
        target if target is not None else sys.stdout,
        chunk_rows=chunk_rows,
        na_values=na_values,
        on_progress=on_progress,
    )
    where = target if target is not None else "standard output"
    say(
        f"wrote {scored.rows:,} rows with {', '.join(scored.columns)} to {where} "
        f"in {scored.seconds:.1f} s"
    )
    return ScoreRun(chosen, target, scored)


def main(csv: Path, model: str, out: str, chunk_rows: int) -> int:
    """``mlops-assets predict``: the project's settings, messages and progress on stderr."""
    import os

    from mlops_assets import settings
    from mlops_assets.tracking.location import resolve_location

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    project = settings.project_dir()
    na_values = project_na_values()
    location = resolve_location(os.environ, project)
    held: list[Progress] = []  # the first chunk's line, said once a second chunk shows

    def progress(step: Progress) -> None:
        if step.rows <= chunk_rows:
            held.append(step)
            return
        for line in (*held, step):
            say(progress_line(line))
        held.clear()

    try:
        score(
            csv,
            out=out,
            model=model,
            artifacts=settings.artifacts_dir(),
            location=location,
            model_name=settings.registered_model() or location.experiment,
            na_values=na_values,
            chunk_rows=chunk_rows,
            say=say,
            on_progress=progress,
        )
    except BrokenPipeError:  # `--out - | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
