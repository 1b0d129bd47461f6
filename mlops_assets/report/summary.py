"""The few lines a run ends with: the verdict and where to look next. Pure text."""

from pathlib import Path

from mlops_assets.artifacts.layout import MODEL_FILE, REPORT_FILE
from mlops_assets.records import MetricsReport, Registration
from mlops_assets.report.promotions import registration_line
from mlops_assets.report.verdict import headline_verdict


def shown(path: Path | str) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def verdict_line(report: MetricsReport) -> str:
    """``test_mae 39.21 (95% interval 34.1 to 44.6) · baseline 40.1 (-2.2%) · quality gate
    passed``."""
    value = report.metrics[report.headline]
    parts = [f"{report.headline} {value:.4g}"]
    if report.interval:
        parts[0] += f" ({report.interval})"
    base = report.baseline.metrics.get(report.headline) if report.baseline else None
    if base is None:
        parts.append("no baseline yet")
    else:
        verdict = headline_verdict(report)
        delta = verdict.delta
        change = f" ({delta / abs(base):+.1%})" if delta and base else ""
        noise = ", within noise" if verdict.changed_within_noise else ""
        parts.append(f"baseline {base:.4g}{change}{noise}")
    parts.append("quality gate passed" if report.gate_passed else "quality gate FAILED")
    return " · ".join(parts)


def run_summary(
    report: MetricsReport,
    registration: Registration | None = None,
    *,
    latest: Path,
    comment_path: Path,
    comment_url: str | None,
    browse: list[str],
) -> list[str]:
    """The closing lines: the verdict, what the registry did (``model_version``'s outcome, when
    it ran), the files the run produced, and how to browse it."""
    home = latest if report.gate_passed else Path(report.directory)
    lines = [verdict_line(report)]
    if report.gate_passed:
        lines.append(f"{shown(latest)} points at this run")
    else:
        lines += [f"  {reason}" for reason in report.gate_reasons]
        lines.append(f"{shown(latest)} left as it was; this run's files are in {shown(home)}")
    if registration is not None:
        lines.append(f"registry {registration_line(registration).replace('**', '')}")
    lines += [
        f"model    {shown(home / MODEL_FILE)}",
        f"report   {shown(home / REPORT_FILE)}",
        f"comment  {comment_url or shown(comment_path)}",
    ]
    lines += [f"browse   {command}" for command in browse]
    return lines


def browse_commands(
    mlflow_run_url: str | None, tracking_uri: str, make_dev: bool = True
) -> list[str]:
    """How to look at the run: the Dagster UI (``make dev`` where the project's Makefile has
    it, as this checkout's does; the Dagster CLI in a repository that adopted the package), and
    the MLflow run or a local MLflow UI."""
    ui = "make dev  " if make_dev else "dagster dev -m mlops_assets"
    dagster = f"{ui} (the Dagster UI: lineage, runs, metadata)"
    if mlflow_run_url:
        return [dagster, mlflow_run_url]
    if tracking_uri.startswith("sqlite:///"):
        tracking_uri = f"sqlite:///{shown(tracking_uri.removeprefix('sqlite:///'))}"
    return [dagster, f"mlflow ui --backend-store-uri {tracking_uri}"]
