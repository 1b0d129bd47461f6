"""The README and docs/ stay true to the tree: every module is on the architecture page, every
relative link resolves, and the README stays short enough to read."""

import re

import pytest

from mlops_assets.settings import project_dir

ROOT = project_dir()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_architecture_page_names_every_module_of_the_package():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = page[page.index("\nmlops_assets/\n") : page.index("\ndocs/ ")]
    package = ROOT / "mlops_assets"
    missing = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name != "__init__.py" and path.name not in tree
    ]
    assert missing == []
    folders = {p.parent.name for p in package.rglob("*.py") if p.parent != package}
    assert all(f"{folder}/" in tree for folder in folders)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    broken = [
        target
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if not target.startswith(("http://", "https://", "mailto:"))
        and not (page.parent / target).exists()
    ]
    assert broken == []


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250
