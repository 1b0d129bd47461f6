"""A headless Chromium for the tests that look at the Dagster UI as a person does.

The distribution's browser (``apt-get install chromium``; .ci/chromium.sh), driven by the
``playwright`` package: Playwright's own browser downloads are never used. Without the browser
the tests skip, except in CI (``CI`` set), where they fail: there they must run.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# No GPU, no sandbox (containers run as root), nothing fetched in the background.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


NAMES = ("chromium", "chromium-browser", "google-chrome")  # Debian's; GitHub's runners have all


def chromium_path() -> Path | None:
    """``MLOPS_ASSETS_TEST_CHROMIUM``, else the first of ``NAMES`` on PATH."""
    found = os.environ.get("MLOPS_ASSETS_TEST_CHROMIUM")
    for name in NAMES:
        found = found or shutil.which(name)
    return Path(found) if found and Path(found).is_file() else None


def require_chromium() -> Path:
    """The browser, or skip (fail in CI) saying how to get it."""
    path = chromium_path()
    problem = None if path else "no chromium on PATH (MLOPS_ASSETS_TEST_CHROMIUM unset)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem is None:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{problem}; CI must run the browser tests: call .ci/chromium.sh first")
    pytest.skip(f"{problem}: apt-get install chromium (or run .ci/chromium.sh) to run it")


@contextmanager
def browser_page(executable: Path) -> Iterator:
    """A fresh page in a headless Chromium; Dagster's one-time community dialog dismissed
    whenever it shows up."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            skip = page.get_by_role("button", name="Skip")
            page.add_locator_handler(skip, lambda button: button.click())
            yield page
        finally:
            browser.close()
