"""The base branch's committed results as the last-resort baseline, read from a real git repo."""

import hashlib
import json

import yaml

from mlops_assets.git.base import committed_baseline
from mlops_assets_tests.support.git_repo import GitRepo, run_git
from mlops_assets_tests.support.params import params_yaml

CSV = "a,b,target\n1,2,3\n4,5,6\n"


def repo_with_main(tmp_path, with_metrics: bool = True) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    files = {"params.yaml": params_yaml(data={"path": "data/x.csv"}), "data/x.csv": CSV}
    if with_metrics:
        files["artifacts/dvc/metrics.json"] = json.dumps({"test_mae": 41.5, "test_rmse": 52.0})
    repo.commit(files, "main")
    return repo


def test_a_branch_gets_mains_committed_metrics_params_and_data_hash(tmp_path):
    repo = repo_with_main(tmp_path)
    main = repo.head()
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.commit({"data/x.csv": CSV + "7,8,9\n"}, "more data")

    baseline, why = committed_baseline(repo.path, "main")

    assert why == ""
    assert baseline.metrics == {"test_mae": 41.5, "test_rmse": 52.0}
    on_disk = yaml.safe_load((repo.path / "params.yaml").read_text())
    assert baseline.params["train.epochs"] == str(on_disk["train"]["epochs"])
    assert baseline.params["data.path"] == "data/x.csv"
    assert baseline.data_hash == hashlib.md5(CSV.encode()).hexdigest()  # main's, not the branch's
    assert baseline.commit == main and baseline.label == f"commit {main[:12]}"
    assert baseline.source == f"the committed artifacts/dvc/metrics.json of 'main' at {main[:12]}"


def test_a_clone_reads_the_remote_branch(tmp_path):
    origin = repo_with_main(tmp_path)
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "--quiet", str(origin.path), str(clone))
    # Written before metrics were named test_*: the old names read as their aliases.
    older = json.dumps({"mae": 30.0, "r2": 0.4, "other": 1.0})
    origin.commit({"artifacts/dvc/metrics.json": older}, "newer on origin")
    run_git(clone, "fetch", "--quiet", "origin")
    run_git(clone, "checkout", "--quiet", "-b", "pr")
    run_git(clone, "branch", "--quiet", "-D", "main")

    baseline, _ = committed_baseline(clone, "main")

    assert baseline.metrics == {"test_mae": 30.0, "test_r2": 0.4, "other": 1.0}


def test_no_baseline_says_why(tmp_path):
    repo = repo_with_main(tmp_path, with_metrics=False)
    assert committed_baseline(repo.path, "main")[1].startswith("this checkout is the tip of 'main'")
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.commit({"notes.txt": "x\n"})

    assert committed_baseline(repo.path, "main") == (
        None,
        "'main' has no committed artifacts/dvc/metrics.json yet (its first run is pending)",
    )
    none, why = committed_baseline(repo.path, "release")
    assert none is None and "the base branch 'release' is not in this checkout" in why
    assert "fetch-depth: 0" in why
    assert "not a git checkout" in committed_baseline(tmp_path / "nowhere", "main")[1]
