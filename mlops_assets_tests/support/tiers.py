"""The suite's two tiers and its time rules, as a pytest plugin.

- ``pipeline``: a test that trains, starts a server or a Dagster process, or runs the pipeline.
  ``make test-fast`` leaves these out; ``make test`` (and CI) runs everything.
- ``slow(reason=...)``: a test allowed over ``SLOW_SECONDS``, saying why.

At the end of a run, the summary names the tests that break the rules: an unmarked test slower
than ``FAST_SECONDS`` (it belongs to the pipeline tier) and a test over ``SLOW_SECONDS``
without a ``slow`` mark. They are reported rather than failed: a noisy machine should not fail
a run, and the durations table (``--durations``) is printed beside them.
"""

import pytest

FAST_SECONDS = 10.0
SLOW_SECONDS = 90.0

# A test that asks for one of these trains, or starts a server: it is in the pipeline tier
# without saying so. Modules that run the CLI or a daemon throughout say it once at the top
# (``pytestmark = pytest.mark.pipeline``); the rest mark their tests one by one.
PIPELINE_FIXTURES = {
    "workspace",  # materialises the assets in process
    "cli_project",  # `mlops-assets run` / `dagster asset materialize` subprocesses
    "mlflow3_server",
    "dagshub_server",
    "postgres_server",
    "daemon",
}

_breaches: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pipeline: trains, starts a server or Dagster process, or runs the pipeline"
    )
    config.addinivalue_line("markers", f"slow(reason): over {SLOW_SECONDS:.0f} s, and why")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pipeline)
        mark = item.get_closest_marker("slow")
        if mark is not None and not mark.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: a slow mark says why (reason=...)")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    marks = set(report.keywords)
    if report.duration > SLOW_SECONDS and "slow" not in marks:
        _breaches.append(f"{report.nodeid}: {report.duration:.0f} s without a slow mark")
    elif report.duration > FAST_SECONDS and "pipeline" not in marks:
        _breaches.append(f"{report.nodeid}: {report.duration:.0f} s in the fast tier")


def pytest_terminal_summary(terminalreporter) -> None:
    if _breaches:
        terminalreporter.section("tests in the wrong tier (mlops_assets_tests/support/tiers.py)")
        for line in _breaches:
            terminalreporter.write_line(line)
