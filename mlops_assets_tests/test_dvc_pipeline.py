"""dvc.yaml describes the Dagster graph, and DVC compares params and metrics between commits."""

import json
import pickle
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey

from mlops_assets.artifacts.outputs import content_hash
from mlops_assets.artifacts.store import DVC_MIRROR
from mlops_assets.definitions import defs
from mlops_assets.params import Params
from mlops_assets.records import ModelVersion, Promotion, Registration
from mlops_assets.settings import project_dir
from mlops_assets_tests.conftest import Workspace, run_config
from mlops_assets_tests.support.cli_project import CliProject
from mlops_assets_tests.support.git_repo import project_repository
from mlops_assets_tests.test_concurrency import FAST


def _section(annotation) -> type:
    """An optional section's class: ``SweepParams | None`` -> ``SweepParams``."""
    return next(a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None))


# section -> its keys, as params.yaml may hold them
SECTIONS = {
    name: list(_section(f.annotation).model_fields) for name, f in Params.model_fields.items()
}
STORAGE = "artifacts/storage"
METRICS = f"artifacts/{DVC_MIRROR}/metrics.json"
PLOTS = f"artifacts/{DVC_MIRROR}/plots"
# What a fresh clone holds of the DVC layout: enough for every dvc command here.
DVC_LAYOUT = [".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore", "dvc.yaml"]


@pytest.fixture(autouse=True)
def _no_dvc_analytics(monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


def dvc(root: Path, *args: str) -> str:
    """Run the real ``dvc`` CLI in ``root`` and return its standard output."""
    out = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, f"dvc {' '.join(args)} failed:\n{out.stderr}"
    return out.stdout


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def dagster_edges() -> set[tuple[str, str]]:
    graph = defs.resolve_asset_graph()
    return {
        (parent.to_user_string(), key.to_user_string())
        for key in graph.get_all_asset_keys()
        for parent in graph.get(key).parent_keys
    }


def config_params(asset: str) -> set[str]:
    """The params.yaml keys (``section.key``) behind an asset's Config class fields."""
    schema = defs.get_assets_def(asset).op.config_schema
    fields = getattr(schema.config_type, "fields", None) or {}  # no Config class: Any
    section_of = {key: section for section, keys in SECTIONS.items() for key in keys}
    return {f"{section_of[name]}.{name}" for name in fields}


def dvc_stages() -> dict:
    from dvc.repo import Repo
    from dvc.stage import PipelineStage

    with Repo(str(project_dir())) as repo:
        return {s.name: s for s in repo.index.stages if isinstance(s, PipelineStage)}


def stage_params(stage) -> set[str]:
    """A stage's params with whole sections (``- train``) expanded to their keys."""
    return {
        f"{name}.{key}" if name in SECTIONS else name
        for dep in stage.params
        for name in dep.params
        for key in (SECTIONS.get(name) or [None])
    }


def test_dvc_yaml_has_one_stage_per_asset_with_the_same_edges():
    dot = dvc(project_dir(), "dag", "--dot")

    dvc_edges = set(re.findall(r'"(\w+)" -> "(\w+)"', dot))
    assets = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert set(dvc_stages()) == assets
    assert dvc_edges == dagster_edges()


@pytest.mark.pipeline
def test_each_stage_runs_its_asset_on_its_params_and_produces_its_stored_output():
    stages = dvc_stages()
    upstream = {}
    for parent, child in dagster_edges():
        upstream.setdefault(child, set()).add(parent)

    for name, stage in stages.items():
        assert stage.cmd == f"dagster asset materialize -m mlops_assets.definitions --select {name}"
        outs = {out.def_path for out in stage.outs}
        assert f"{STORAGE}/{name}" in outs, name
        deps = {dep.def_path for dep in stage.deps if dep not in stage.params}
        assert {d for d in deps if d.startswith(STORAGE)} == {
            f"{STORAGE}/{parent}" for parent in upstream.get(name, ())
        }, name
        assert f"mlops_assets/defs/assets/{name}.py" in deps, name
        assert all((project_dir() / d).exists() for d in deps if not d.startswith("artifacts/"))
        assert stage_params(stage) == config_params(name), name

    data_path = yaml.safe_load((project_dir() / "params.yaml").read_text())["data"]["path"]
    assert data_path in {dep.def_path for dep in stages["raw_data"].deps}
    metrics_outs = {
        o.def_path: (o.metric, o.plot, o.use_cache) for o in stages["metrics_report"].outs
    }
    assert metrics_outs[METRICS] == (True, False, False)  # in git, so diffs work across commits
    assert metrics_outs[PLOTS] == (False, True, False)


@pytest.mark.pipeline
def test_dvc_compares_params_metrics_and_plots_between_two_commits(tmp_path):
    """A fresh checkout of the DVC layout; the real assets write the metrics DVC reads."""
    root = tmp_path / "clone"
    for name in [*DVC_LAYOUT, "params.yaml"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_dir() / name, root / name)
    git(root, "init", "-q")
    workspace = Workspace(root)  # artifacts in root/artifacts, as dvc.yaml expects
    commits = []
    for epochs in (2, 4):
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["train"]["epochs"] = epochs
        (root / "params.yaml").write_text(yaml.safe_dump(params))
        selection = ["trained_model", "metrics_report"] if commits else None
        workspace.materialize(config=run_config(train={"epochs": epochs}), selection=selection)
        mirrored = root / METRICS  # a plain copy of what latest (a symlink) points to
        assert not mirrored.parent.is_symlink()
        assert mirrored.read_bytes() == (workspace.latest / "metrics.json").read_bytes()
        commits.append(json.loads(mirrored.read_text()))
        git(root, "add", *DVC_LAYOUT, "params.yaml", f"artifacts/{DVC_MIRROR}")
        git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"{epochs}")

    params_diff = json.loads(dvc(root, "params", "diff", "HEAD~1", "--json"))
    metrics_diff = json.loads(dvc(root, "metrics", "diff", "HEAD~1", "--json", "--all"))
    plots = json.loads(dvc(root, "plots", "diff", "HEAD~1", "--json", "--split"))

    assert params_diff["params.yaml"] == {"train.epochs": {"old": 2, "new": 4, "diff": 2}}
    old, new = commits
    assert metrics_diff[METRICS] == {
        name: {"old": old[name], "new": new[name], "diff": pytest.approx(new[name] - old[name])}
        for name in old
    }
    images = {
        entry["revisions"][0]: Path(entry["url"]).read_bytes()
        for entry in plots["data"][f"{PLOTS}/learning_curve.png"]
    }
    assert set(images) == {"HEAD~1", "workspace"}
    assert images["HEAD~1"] != images["workspace"]


def test_dvc_param_overrides_and_dagster_string_selections_parse_side_by_side():
    """The antlr trap: DVC's hydra (`dvc exp run -S`) and Dagster's selection grammar need one
    antlr runtime both accept; an older hydra/omegaconf pin breaks Dagster's parser."""
    from dagster import AssetSelection
    from dvc.utils.hydra import to_hydra_overrides

    [override] = to_hydra_overrides(["train.hidden_layers=[8,4]"])
    graph = defs.resolve_asset_graph()
    selected = AssetSelection.from_string("raw_data+").resolve(graph)

    assert (override.key_or_group, override.value()) == ("train.hidden_layers", [8, 4])
    assert {key.to_user_string() for key in selected} == {"raw_data", "features"}


@pytest.mark.pipeline
def test_a_run_that_changes_nothing_leaves_dvc_status_clean(tmp_path):
    """The stages' outs are stamps that hold no time or run id: after a run on a clean checkout
    of main promoted its model, a run that reused everything rewrites none (issue 28)."""
    repo = project_repository(tmp_path / "project")
    project = CliProject(repo.path, train={**FAST, "epochs": 30})
    repo.git("commit", "--quiet", "--all", "-m", "train fast")  # clean: the model is promoted
    first = project.run()
    assert first.returncode == 0, first.output[-3000:]
    promoted = project.instance().get_latest_materialization_event(AssetKey("model_version"))
    assert promoted.asset_materialization.metadata["role"].value == "champion"
    dvc(repo.path, "commit", "--force", "--quiet")
    assert json.loads(dvc(repo.path, "status", "--json")) == {}
    stamps = {p.name: p.read_bytes() for p in (repo.path / STORAGE).iterdir() if p.is_file()}
    assert set(stamps) == set(dvc_stages())

    again = project.materialize()  # a Dagster run that reuses everything

    assert "reusing the output of run" in again.output
    assert json.loads(dvc(repo.path, "status", "--json")) == {}
    assert {name: (repo.path / STORAGE / name).read_bytes() for name in stamps} == stamps


def test_model_version_stamp_follows_the_registry_not_the_run_that_moved_it():
    """A rerun stamps what the promoting run did; another champion, role or version does not."""
    v1, v2 = ModelVersion("m", "1", run_id="a"), ModelVersion("m", "2", run_id="b")
    move = Promotion(1, "1", None, at="2024-01-01T00:00:00", by_run="r1", commit="c", reason="x")
    why = "a passing model from a clean checkout of 'main'"
    promoted = Registration("m", "champion", why, v1, None, move, ledger=[move])
    rerun = Registration("m", "champion", why, v1, champion_before=v1, ledger=[move])
    later = replace(move, at="2024-06-01T00:00:00", by_run="r9")
    candidate = Registration("m", "candidate", "branch", v2, champion_before=v1, ledger=[move])

    def stamp(value) -> str:
        return content_hash(value, pickle.dumps(value))

    assert stamp(promoted) == stamp(rerun) == stamp(replace(rerun, ledger=[later]))
    assert len({stamp(rerun), stamp(candidate), stamp(replace(candidate, champion_before=v2))}) == 3
    assert stamp(replace(candidate, alias="pr-7")) != stamp(candidate)
