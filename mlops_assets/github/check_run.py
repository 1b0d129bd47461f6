"""The model gate as a GitHub check run on the head commit, so branch protection can require it.

The comment explains the run; a check run is what a merge rule can depend on. Each call creates
a new completed run: on a re-run of the same commit GitHub shows the newest run of a name, so
nothing is looked up or edited (a retry after a 5xx may add a duplicate; the newest still wins).
Needs ``checks: write``; the caller decides what a refusal costs (``call_with_retries`` turns a
403 into a ``GitHubPublishError`` naming ``PERMISSION``). No PyGithub import: ``repo`` is passed.
"""

from mlops_assets.records import Baseline, MetricsReport
from mlops_assets.report.comment import MAX_REASON_CHARS, clip, reason_lines

CHECK_NAME = "mlops-assets / model gate"
PERMISSION = "checks: write"
SUMMARY_LIMIT = 65_535  # GitHub refuses a longer output.summary (422)


def conclusion(report: MetricsReport, *, decided: bool = True) -> str:
    """``success`` when the gate passed, ``failure`` when it refused the model, and ``neutral``
    only when the caller says no verdict was reached (``decided=False``).

    A report without a baseline is decided: the gate still compared the model with the naive
    predictor. GitHub lets a neutral run satisfy a required check, so neutral never stands in
    for a refusal.
    """
    if not decided:
        return "neutral"
    return "success" if report.gate_passed else "failure"


def _verdict(report: MetricsReport, decided: bool) -> str:
    if not decided:
        return "gate undecided"
    return "gate passed" if report.gate_passed else "gate failed"


def _headline(report: MetricsReport) -> str:
    value = report.metrics.get(report.headline)
    return f"{report.headline} {value:.4g}" if value is not None else f"{report.headline} n/a"


def _baseline_name(baseline: Baseline) -> str:
    """Said the way the gate says it: a tracked run by id, committed metrics by commit."""
    if baseline.run_id:
        return f"run `{baseline.run_id}`"
    return f"commit `{(baseline.commit or '')[:12]}`"


def check_output(
    report: MetricsReport, details_url: str | None = None, *, decided: bool = True
) -> dict:
    """The check run's ``title`` (``test_mae 41.2: gate passed``) and Markdown ``summary``: the
    verdict, why, the baseline and the interval; clipped to GitHub's summary limit."""
    title = f"{_headline(report)}: {_verdict(report, decided)}"
    if not decided:
        first = f"**Model gate: no verdict** for {_headline(report)}; see the run's logs."
    elif report.gate_passed:
        first = f"✅ **Model gate passed**: {_headline(report)}."
    else:
        first = f"❌ **Model gate failed**: {_headline(report)}."
    lines = [first, ""]
    if report.gate_reasons:
        lines += [*reason_lines(report.gate_reasons), ""]
    baseline = report.baseline
    if baseline is None:
        note = report.baseline_note or "no baseline run to compare with"
        lines.append(f"Baseline: none ({clip(note, MAX_REASON_CHARS)}).")
    else:
        name = _baseline_name(baseline)
        name = f"[{name}]({baseline.url})" if baseline.url else name
        reference = baseline.metrics.get(report.headline)
        value = f": {report.headline} {reference:.4g}" if reference is not None else ""
        lines.append(f"Baseline: {name}{value}.")
    if report.interval is not None:
        lines.append(f"Noise: {report.headline} {report.interval}.")
    if details_url:
        lines += ["", f"[Full report]({details_url})"]
    summary = "\n".join(lines) + "\n"
    if len(summary) > SUMMARY_LIMIT:
        cut = "\n\n… (clipped to GitHub's limit; see the full report)\n"
        summary = summary[: SUMMARY_LIMIT - len(cut)] + cut
    return {"title": title, "summary": summary}


def post_check_run(
    repo,
    sha: str,
    report: MetricsReport,
    details_url: str | None = None,
    external_id: str | None = None,
    *,
    decided: bool = True,
) -> str:
    """Create the completed check run ``CHECK_NAME`` on ``sha``; returns its html_url."""
    optional = {"details_url": details_url, "external_id": external_id}
    run = repo.create_check_run(
        name=CHECK_NAME,
        head_sha=sha,
        status="completed",
        conclusion=conclusion(report, decided=decided),
        output=check_output(report, details_url, decided=decided),
        **{key: value for key, value in optional.items() if value},  # None would send null
    )
    return run.html_url
