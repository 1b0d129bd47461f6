"""Batch scoring: a CSV in, the same rows plus the model's predictions out.

``models`` picks the model (the registry's champion, a registered version, or
``artifacts/latest``); ``batch`` scores a CSV with it in chunks; ``command`` is what
``mlops-assets predict`` and the Dagster ``score`` job both call. No Dagster import.
"""


class ScoringError(ValueError):
    """A user's mistake found before or while scoring (a missing column, no such model);
    the message names the file, column or setting. Nothing is written."""
