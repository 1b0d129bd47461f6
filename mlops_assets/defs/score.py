"""The ``score`` job: ``mlops-assets predict`` from the Dagster UI, a schedule or the CLI.

``dagster job execute -m mlops_assets -j score --config-json
'{"ops": {"score_csv": {"config": {"csv": "data/new.csv"}}}}'``. A relative path is relative
to the project directory (a UI or a schedule has no working directory a user chose). The work
is ``mlops_assets.scoring.command.score``, the same as the CLI's.
"""

from pathlib import Path

from dagster import Config, Failure, MetadataValue, OpExecutionContext, job, op
from pydantic import Field

from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.settings import project_dir

SCORE_JOB = "score"


class ScoreConfig(Config):
    csv: str = Field(description="The CSV to score; relative paths from the project directory")
    model: str = Field(
        default="",
        description="champion, latest, or a registered version (3 or v3); empty: the "
        "champion, else artifacts/latest",
    )
    out: str = Field(default="", description="Empty: <csv stem>.predictions.csv beside the CSV")
    chunk_rows: int = Field(default=100_000, ge=1, description="Rows read and scored at a time")


def _in_project(path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else project_dir() / path


@op(name="score_csv")
def score_op(
    context: OpExecutionContext,
    config: ScoreConfig,
    tracking: MlflowTracking,
    artifacts: ArtifactStore,
) -> str:
    """Scores ``config.csv`` with the chosen model; returns the output file's path."""
    from mlops_assets.scoring import ScoringError
    from mlops_assets.scoring.command import progress_line, project_na_values, score

    na_values = project_na_values()
    csv = _in_project(config.csv)
    try:
        done = score(
            csv,
            out=str(_in_project(config.out)) if config.out else "",
            model=config.model,
            artifacts=artifacts.store.root_path,
            location=tracking.location(),
            model_name=tracking.model_name,
            na_values=na_values,
            chunk_rows=config.chunk_rows,
            say=context.log.info,
            on_progress=lambda step: context.log.info(progress_line(step)),
        )
    except ScoringError as error:
        raise Failure(str(error)) from None
    context.add_output_metadata(
        {
            "rows": done.scored.rows,
            "model": done.model.description,
            "out": MetadataValue.path(str(done.out)),
            "columns added": ", ".join(done.scored.columns),
            "rows/s": round(done.scored.rows / max(done.scored.seconds, 1e-9)),
        }
    )
    return str(done.out)


@job(name=SCORE_JOB, description="Score a CSV with the champion (or latest, or a version).")
def score_job():
    score_op()
