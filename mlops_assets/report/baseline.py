"""What the report compares against: the latest successful run on the base branch."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Baseline:
    """A finished run's results, as read back from experiment tracking."""

    run_id: str
    metrics: dict[str, float]
    params: dict[str, str] = field(default_factory=dict)
    data_hash: str | None = None
    commit: str | None = None
    url: str | None = None
