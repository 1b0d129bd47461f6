"""The run log a person reads: one short line per message, ``HH:MM:SS step: message``.

Dagster's own console logger prints every event at DEBUG level (step starts, inputs loaded,
outputs handled: dozens of lines per run). This one shows the assets' own messages, check
results, warnings and errors, with a failure's stack trace once. ``mlops-assets run`` names it
in its run config unless asked to be verbose; the UI always has the whole event log.
"""

import logging
import sys

from dagster import Field, logger

# DEBUG-level Dagster events still worth a line each.
SHOWN_EVENTS = {"ASSET_CHECK_EVALUATION"}
# Errors whose message says all a person needs: printed without their stack trace.
BRIEF_ERRORS = {
    "ProjectBusy",
    "ArtifactStoreError",
    "DagsterExecutionInterruptedError",
    "StopRequested",
    "TrackingServerError",
    "DatasetError",
    "ParamsError",
    "ProjectNotFound",
}
# Events that print a run's error first; the run failure that follows only names it.
FIRST_ERRORS = {"STEP_FAILURE", "RESOURCE_INIT_FAILURE"}
# Runs whose step error was printed: the run failure repeats it. (Dagster builds the logger
# more than once per run, so this cannot live on the formatter.)
_errors_shown: set[str] = set()


class CompactFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        step = meta.get("step_key") or meta.get("resource_name") or "run"
        text = meta.get("orig_message", record.getMessage())
        event = meta.get("dagster_event")
        data = getattr(event, "event_specific_data", None)
        error = getattr(data, "error", None)
        kind = getattr(event, "event_type_value", None)
        run_id = meta.get("run_id")
        if error is not None and not (kind == "PIPELINE_FAILURE" and run_id in _errors_shown):
            text += "\n\n" + _error_text(data, error)
            if kind in FIRST_ERRORS:
                _errors_shown.add(run_id)
        if kind == "ASSET_CHECK_EVALUATION":
            verdict = "passed" if data.passed else "FAILED"
            text = f"check {data.check_name} {verdict}: {data.description or ''}".rstrip(": ")
            step = data.asset_key.to_user_string()
        level = f"{record.levelname} " if record.levelno >= logging.WARNING else ""
        return f"{self.formatTime(record, self.datefmt)} {level}{step}: {text}"


def _error_text(data, error) -> str:
    """The error with its stack trace, or only its message for the ``BRIEF_ERRORS``."""
    link = error
    while link is not None:
        if link.cls_name == "DagsterExecutionInterruptedError":  # it has no message of its own
            return "interrupted (Ctrl-C or SIGTERM)"
        if link.cls_name in BRIEF_ERRORS:
            return link.message.strip()
        link = link.cause
    return getattr(data, "error_display_string", None) or error.to_string()


class QuietFilter(logging.Filter):
    """Messages at ``level`` and above, and the few DEBUG events in ``SHOWN_EVENTS``."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self.level:
            return True
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        return self.level <= logging.INFO and getattr(event, "event_type_value", None) in (
            SHOWN_EVENTS
        )


@logger(
    {"log_level": Field(str, is_required=False, default_value="INFO")},
    description="One short line per message; Dagster's DEBUG events left out.",
)
def compact_console_logger(init_context):
    # Not logging.getLogger: Dagster builds this logger several times per run, and a registered
    # logger would collect a handler each time.
    log = logging.Logger("mlops_assets.console", level=logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CompactFormatter())
    handler.addFilter(QuietFilter(logging.getLevelName(init_context.logger_config["log_level"])))
    log.addHandler(handler)
    return log
