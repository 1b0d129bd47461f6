"""Retrains on a fixed cadence even when nothing changed (drift, new dependencies)."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from mlops_assets import run_tags
from mlops_assets.defs.jobs import RETRAIN_JOB
from mlops_assets.settings import RETRAIN_TIMEZONE, ScheduleSettings


def build_schedule(when: ScheduleSettings):
    """The ``periodic_retrain`` schedule; an invalid cron or timezone names where it came from."""
    try:

        @schedule(
            name="periodic_retrain",
            cron_schedule=when.cron,
            job_name=RETRAIN_JOB,
            execution_timezone=when.timezone,
            default_status=DefaultScheduleStatus.RUNNING
            if when.on
            else DefaultScheduleStatus.STOPPED,
            description="Retrains on a fixed cadence even when nothing changed (drift, new deps).",
        )
        def periodic_retrain(context: ScheduleEvaluationContext) -> RunRequest:
            at = context.scheduled_execution_time.isoformat()
            return RunRequest(
                run_key=at, tags={run_tags.TRIGGER: "schedule", run_tags.SCHEDULED_TIME: at}
            )

    except Exception as exc:  # Dagster's message does not say where the cron came from
        raise ValueError(
            f"invalid retrain schedule: cron {when.cron!r} (from {when.cron_source}), "
            f"timezone {when.timezone!r} (from {RETRAIN_TIMEZONE} or UTC): {exc}"
        ) from exc
    return periodic_retrain
