"""The Dagster UI as a person sees it: the real webserver, opened in a headless Chromium."""

import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mlops_assets_tests.support.browser import browser_page, require_chromium
from mlops_assets_tests.support.cli_project import REPO, CliProject
from mlops_assets_tests.support.params import FAST
from mlops_assets_tests.support.processes import process_group

pytestmark = pytest.mark.pipeline


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the webserver exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    tail = log.read_text()[-3000:]
    pytest.fail(f"the webserver did not answer {url} in {timeout:.0f} s:\n{tail}")


def test_the_metrics_report_page_shows_the_reports_plots_as_images(tmp_path):
    """The report's Markdown carries its PNGs as data: URIs; the UI must render them, not
    strip them: an <img> that decoded (naturalWidth > 0) in the asset page's report."""
    chromium = require_chromium()
    project = CliProject(tmp_path / "project", train=FAST)
    project.materialize()
    port, log = free_port(), tmp_path / "webserver.log"
    command = [sys.executable, "-m", "dagster_webserver", "-m", "mlops_assets"]
    command += ["-h", "127.0.0.1", "-p", str(port)]
    with process_group(command, project.environment(), log, REPO) as server:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/server_info", server, log)
        with browser_page(chromium) as page:
            page.goto(f"{base}/assets/metrics_report", wait_until="networkidle", timeout=90_000)
            report = page.locator("tr").filter(has=page.get_by_text("report", exact=True))
            report.get_by_text("Show Markdown").click(timeout=60_000)
            images = page.locator('img[src^="data:image/png;base64,"]')
            images.first.wait_for(timeout=30_000)
            page.wait_for_function(
                "() => Array.from(document.images).every(image => image.complete)"
            )
            shown = page.evaluate(
                """() => Array.from(document.images)
                    .filter(image => image.src.startsWith('data:image/png'))
                    .map(image => [image.alt, image.naturalWidth])"""
            )
    assert {name for name, _ in shown} >= {"learning_curve", "predicted_vs_actual"}
    assert all(width > 0 for _, width in shown), shown
