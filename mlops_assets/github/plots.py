"""Plot publishers: how the PNG plots reach a comment without ``data:`` URIs or third-party hosts.

- ``none``: no plots (the Mermaid charts still render).
- ``mlflow``: links to the plots among the MLflow run's artifacts (DagsHub included).
- ``branch``: the PNGs committed to a dedicated branch through the Git Data API (no checkout,
  no push), embedded by commit-pinned URL so later runs never change an old comment's images.
"""

import base64
import os
from collections.abc import Mapping
from pathlib import Path

from mlops_assets.report.comment import PublishedPlots

PUBLISHERS = ("none", "mlflow", "branch")
BRANCH_PERMISSION = "contents: write"


def local_plots(plots: Mapping[str, str], relative_to: Path) -> PublishedPlots:
    """For a comment written to a local file: the PNGs by path relative to that file."""
    urls = {
        name: Path(os.path.relpath(path, relative_to)).as_posix() for name, path in plots.items()
    }
    return PublishedPlots(urls=urls, embed=True)


def mlflow_plots(
    plots: Mapping[str, str], run_url: str | None, run_id: str | None
) -> PublishedPlots:
    """Links into the run's artifact browser (``plots/`` is where metrics_report logs them)."""
    if not plots:
        return PublishedPlots()
    if not run_url:
        where = f"MLflow run `{run_id}`" if run_id else "the MLflow run"
        return PublishedPlots(note=f"The PNG plots are in the `plots/` artifacts of {where}.")
    base = run_url.rstrip("/")
    urls = {name: f"{base}/artifactPath/plots/{Path(path).name}" for name, path in plots.items()}
    return PublishedPlots(urls=urls, embed=False)


def branch_plots(
    repo, plots: Mapping[str, str], *, branch: str, folder: str, file_url: str
) -> PublishedPlots:
    """Commit the PNGs under ``folder/`` on ``branch`` (created without history on first use)
    and return their commit-pinned URLs; ``file_url`` is ``<server>/<owner>/<repo>/blob``."""
    from github import GithubException, InputGitTreeElement

    if not plots:
        return PublishedPlots()
    ref = repo.get_git_ref(f"heads/{branch}")
    try:
        parent = repo.get_git_commit(ref.object.sha)  # completes ref: its URL is now GitHub's
    except GithubException as error:
        if error.status != 404:
            raise
        parent = None
    elements = []
    for path in plots.values():
        content = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        blob = repo.create_git_blob(content, "base64")
        name = f"{folder}/{Path(path).name}"
        elements.append(InputGitTreeElement(name, "100644", "blob", sha=blob.sha))
    if parent is None:
        tree = repo.create_git_tree(elements)
        commit = repo.create_git_commit(f"Plots for {folder}", tree, [])
        repo.create_git_ref(f"refs/heads/{branch}", commit.sha)
    else:
        tree = repo.create_git_tree(elements, base_tree=parent.tree)
        commit = repo.create_git_commit(f"Plots for {folder}", tree, [parent])
        ref.edit(commit.sha)  # a fast-forward: a concurrent run makes this fail, not lose plots
    urls = {
        name: f"{file_url}/{commit.sha}/{folder}/{Path(path).name}?raw=true"
        for name, path in plots.items()
    }
    return PublishedPlots(urls=urls, embed=True)
