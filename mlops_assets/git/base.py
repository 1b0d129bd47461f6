"""The base branch's committed results, read with git as ``dvc metrics diff main`` reads them:
the last resort for a baseline when no tracked run exists (a CI runner with a fresh store).
A checkout at the base branch's tip has none: it is the base."""

import hashlib
import json
from pathlib import Path

import yaml

from mlops_assets.artifacts.layout import METRICS_FILE
from mlops_assets.artifacts.store import DVC_MIRROR
from mlops_assets.dvc.data import DvcDataError, parse_dvc_file
from mlops_assets.git.commands import GitError, check_repository, git, git_bytes
from mlops_assets.params import flat
from mlops_assets.records import Baseline
from mlops_assets.report.metrics import held_out

# dvc.yaml's metrics, mirrored whenever latest moves (in the default artifacts directory)
COMMITTED_METRICS = f"artifacts/{DVC_MIRROR}/{METRICS_FILE}"
PARAMS_FILE = "params.yaml"


def _show(repo: Path, revision: str, path: str) -> str:
    return git(repo, "show", f"{revision}:{path}")


def base_revision(repo: Path, branch: str) -> str | None:
    """The commit of ``branch`` as the checkout knows it: the remote's (a CI clone) or local."""
    for ref in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"):
        try:
            return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError:
            continue
    return None


def _data_hash(repo: Path, revision: str, data_path: str) -> str | None:
    """The MD5 of the data file at ``revision``: its ``.dvc`` record, or its committed bytes."""
    dvc_file = f"{data_path}.dvc"
    try:
        return parse_dvc_file(_show(repo, revision, dvc_file), Path(dvc_file)).md5
    except (GitError, DvcDataError):
        pass
    try:
        content = git_bytes(repo, "show", f"{revision}:{data_path}")
    except GitError:
        return None
    return hashlib.md5(content).hexdigest()


def committed_baseline(repo: Path, branch: str) -> tuple[Baseline | None, str]:
    """The base branch's committed metrics and params as a baseline, or None and why not."""
    try:
        check_repository(repo)
    except GitError as error:
        return None, f"{repo} is not a git checkout ({error})"
    revision = base_revision(repo, branch)
    if revision is not None and revision == git(repo, "rev-parse", "HEAD"):
        return None, f"this checkout is the tip of '{branch}' itself: nothing to compare with"
    if revision is None:
        return None, (
            f"the base branch '{branch}' is not in this checkout: fetch it "
            f"(`git fetch origin {branch}`, or actions/checkout with `fetch-depth: 0`)"
        )
    try:
        metrics = json.loads(_show(repo, revision, COMMITTED_METRICS))
    except GitError:
        return (
            None,
            f"'{branch}' has no committed {COMMITTED_METRICS} yet (its first run is pending)",
        )
    except json.JSONDecodeError as error:
        return None, f"{COMMITTED_METRICS} on '{branch}' is not JSON ({error})"
    try:
        params = yaml.safe_load(_show(repo, revision, PARAMS_FILE)) or {}
    except (GitError, yaml.YAMLError):
        params = {}
    flat_params = {
        key: value
        for section in ("data", "train")
        if isinstance(params.get(section), dict)
        for key, value in flat(section, params[section]).items()
    }
    data_path = (params.get("data") or {}).get("path")
    return Baseline(
        run_id="",
        metrics=held_out({k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}),
        params=flat_params,
        data_hash=_data_hash(repo, revision, data_path) if data_path else None,
        commit=revision,
        source=f"the committed {COMMITTED_METRICS} of '{branch}' at {revision[:12]}",
    ), ""
