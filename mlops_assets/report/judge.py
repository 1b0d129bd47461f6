"""A report judged against today's baseline: which baseline, paired or not, gated, and how the
data differs from the base branch's.

Plain: the tracking store comes in as a few calls (``Baselines``), so the judgement runs, and is
tested, without Dagster or a server.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mlops_assets.artifacts.layout import PREDICTIONS_FILE
from mlops_assets.data.dataset import read_csv
from mlops_assets.git.base import committed_baseline
from mlops_assets.records import Baseline, FeatureSet, MetricsReport
from mlops_assets.report.data_diff import base_data_section
from mlops_assets.report.gate import GateResult, evaluate_gate
from mlops_assets.report.paired import compare_paired


@dataclass(frozen=True)
class Baselines:
    """Where a baseline can come from, as calls into the tracking store."""

    champion: Callable[[], Baseline | None]  # the registry's champion
    latest_run: Callable[[str, str | None], Baseline | None]  # (branch, run id to leave out)
    download: Callable[[str, str, Path], Path | None]  # (run id, artifact, into): a local copy
    searched: str  # the store in words, for the note when it holds no baseline


def find_baseline(
    baselines: Baselines, project: Path, branch: str, exclude_run_id: str | None
) -> tuple[Baseline | None, str]:
    """The champion, else the latest tracked run on ``branch``, else ``branch``'s committed
    results (a fresh store, as on a CI runner); with why there is none, when there is none."""
    baseline = baselines.champion() or baselines.latest_run(branch, exclude_run_id)
    if baseline is not None:
        return baseline, ""
    baseline, why = committed_baseline(project, branch)
    note = f"no finished run on '{branch}' in {baselines.searched}, and {why}" if why else ""
    return baseline, note


def baseline_predictions(
    baselines: Baselines, baseline: Baseline | None, run_dir: Path
) -> Path | None:
    """The tracked baseline run's held-out predictions, copied beside this run's files."""
    if baseline is None or not baseline.run_id:
        return None
    return baselines.download(baseline.run_id, PREDICTIONS_FILE, run_dir / "baseline")


def judge(
    report: MetricsReport,
    features: FeatureSet,
    baselines: Baselines,
    *,
    tolerance: float,
    project: Path,
    branch: str,
    exclude_run_id: str | None = None,
) -> tuple[MetricsReport, GateResult]:
    """``report`` compared with today's baseline, paired when it can be, gated, and with the
    data diff. A reused report is judged again too: the champion or the base branch may have
    moved since it was made."""
    baseline, baseline_note = find_baseline(baselines, project, branch, exclude_run_id)
    run_dir = Path(report.directory)
    paired = compare_paired(
        report.headline,
        run_dir / PREDICTIONS_FILE,
        baseline_predictions(baselines, baseline, run_dir),
        seed=features.seed,
    )
    gate = evaluate_gate(
        report.headline,
        report.metrics,
        report.naive,
        baseline,
        tolerance,
        report.interval,
        paired.difference,
    )
    data_path = features.params["data.path"]
    data_diff = base_data_section(project, branch, data_path, read_csv(project / data_path))
    judged = replace(
        report,
        baseline=baseline,
        baseline_note=baseline_note,
        paired=paired,
        data_diff=data_diff,
        gate_passed=gate.passed,
        gate_reasons=gate.reasons,
    )
    return judged, gate
