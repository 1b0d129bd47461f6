"""The GitHub Actions workflows: schema-valid, least privilege, and played end to end."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_assets.settings import project_dir
from mlops_assets_tests.conftest import run_config
from mlops_assets_tests.support.fake_github import FakeGitHub
from mlops_assets_tests.support.git_repo import GitRepo, project_repository
from mlops_assets_tests.support.workflow_player import (
    Event,
    WorkflowPlayer,
    evaluate,
    expanded_steps,
    substitute,
)

WORKFLOWS = project_dir() / ".github" / "workflows"
RETRAIN = WORKFLOWS / "retrain.yml"
SETUP_ACTION = project_dir() / ".github" / "actions" / "setup" / "action.yml"


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on:` as True
    return workflow


def steps(job: dict) -> list[dict]:
    """The job's steps with the local composite actions' steps in place of their `uses:`."""
    return expanded_steps(job["steps"], project_dir())


def check_schema(
    files: list[str], schema: str = "vendor.github-workflows"
) -> subprocess.CompletedProcess:
    """check-jsonschema with GitHub's workflow (or action) schema, which it ships (offline)."""
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
    return subprocess.run(command + files, capture_output=True, text=True, check=False)


def test_the_workflows_validate_against_the_github_workflow_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 5

    done = check_schema(files)

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_setup_action_validates_against_the_github_action_schema():
    done = check_schema([str(SETUP_ACTION)], "vendor.github-actions")

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_retraining_workflows_share_the_setup_action():
    for name, job in [
        ("retrain.yml", "retrain"),
        ("scheduled-retrain.yml", "retrain"),
        ("rollback.yml", "rollback"),
    ]:
        uses = [s.get("uses", "") for s in load(WORKFLOWS / name)["jobs"][job]["steps"]]
        assert uses[0].startswith("actions/checkout") and uses[1] == "./.github/actions/setup"


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    step: []\n")

    assert check_schema([str(broken)]).returncode != 0


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_least_privilege_and_no_secrets_for_forks(path):
    workflow = load(path)
    text = path.read_text()

    assert workflow["permissions"] == {"contents": "read"}
    assert "pull_request_target" not in workflow["on"]  # would hand secrets to forks' code
    for name, job in workflow["jobs"].items():
        extra = {k: v for k, v in job.get("permissions", {}).items() if k != "contents"}
        assert extra in ({}, {"pull-requests": "write", "checks": "write"}), name
        if extra:  # the two that post the report: on pull requests, and from a comment
            assert path.name in ("retrain.yml", "chatops.yml")
        for step in steps(job):
            assert "secrets." not in step.get("run", ""), "secrets only through the environment"
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["fetch-depth"] == 0  # diffs against the base branch
                assert step["with"]["persist-credentials"] is False
            if step.get("uses", "").startswith("astral-sh/setup-uv"):
                assert step["with"]["enable-cache"] is True  # installs from uv's kept cache
    assert "secrets.GITHUB_TOKEN" not in text or path.name in ("retrain.yml", "chatops.yml")


def test_retrain_triggers_concurrency_and_persisted_dagster_home():
    workflow = load(RETRAIN)
    assert set(workflow["on"]) == {"push", "pull_request", "workflow_dispatch"}
    assert "pull_request.number" in workflow["concurrency"]["group"]
    job = workflow["jobs"]["retrain"]
    assert job["env"]["DAGSTER_HOME"] == "${{ github.workspace }}/.dagster_home"
    [cache] = [s for s in steps(job) if s.get("uses", "").startswith("actions/cache")]
    assert ".dagster_home" in cache["with"]["path"]
    scheduled = load(WORKFLOWS / "scheduled-retrain.yml")
    assert scheduled["on"]["schedule"] == [{"cron": "0 3 * * 1"}]
    tests = load(WORKFLOWS / "tests.yml")
    assert any(s.get("run") == "make test" for s in tests["jobs"]["test"]["steps"])


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_every_workflow_installs_the_cpu_only_tensorflow_build(path):
    """Runners have no GPU: each install names the project's `cpu` extra (tensorflow-cpu), and
    `make` is told the same; no step installs the project without a TensorFlow extra."""
    installs = []
    for job in load(path)["jobs"].values():
        for step in steps(job):
            run = step.get("run", "")
            if "pip install" in run:
                assert 'pip install -e ".[cpu]"' in run, run
                installs.append(run)
            if run.startswith("make "):
                assert step["env"]["TENSORFLOW"] == "cpu", step
                installs.append(run)
    assert installs, f"{path.name} installs nothing"


def test_the_cpu_extra_is_the_same_tensorflow_release_as_the_full_one():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((project_dir() / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert not [d for d in project["dependencies"] if d.startswith("tensorflow")]
    [full], [cpu] = extras["tensorflow"], extras["cpu"]
    assert full.startswith("tensorflow==") and cpu.startswith("tensorflow-cpu==")
    assert full.split("==")[1] == cpu.split("==")[1]


def test_the_expression_subset_behaves_like_github():
    contexts = {
        "github": {"event_name": "pull_request", "event": {"pull_request": {"number": 42}}},
        "inputs": {},
        "vars": {"X": "x"},
    }
    assert evaluate("github.event.pull_request.number || github.ref", contexts) == 42
    assert evaluate("inputs.run_config || vars.X", contexts) == "x"
    assert evaluate("github.event_name == 'PULL_REQUEST'", contexts) is True
    assert evaluate("!(github.event_name == 'push') && 'yes'", contexts) == "yes"
    assert evaluate("github.event_name == 'push' && 'yes'", contexts) is False
    assert evaluate("failure()", contexts, status="failure") is True
    assert substitute("a-${{ inputs.nothing }}-${{ vars.X }}", contexts) == "a--x"


def test_the_player_plays_a_local_composite_action_with_its_inputs(tmp_path):
    """`uses: ./<path>` is read from the checkout and played step by step, as the runner
    expands it: `with:` over the declared defaults is the `inputs` context of its steps."""
    action = {
        "name": "greet",
        "description": "writes a greeting to the job summary",
        "inputs": {
            "who": {"description": "whom", "required": True},
            "greeting": {"description": "how", "default": "hello"},
            "skip": {"description": "skip the second step", "default": "false"},
        },
        "runs": {
            "using": "composite",
            "steps": [
                {
                    "name": "say",
                    "shell": "bash",
                    "run": 'echo "${{ inputs.greeting }} ${{ inputs.who }}" '
                    '>> "$GITHUB_STEP_SUMMARY"',
                },
                {
                    "name": "maybe",
                    "if": "inputs.skip != 'true'",
                    "shell": "bash",
                    "run": 'echo ran >> "$GITHUB_STEP_SUMMARY"',
                },
            ],
        },
    }
    source = GitRepo(tmp_path / "origin")
    sha = source.commit({".github/actions/greet/action.yml": yaml.safe_dump(action)})
    workflow = tmp_path / "workflow.yml"
    checkout = {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}}
    greet = {
        "name": "greet",
        "uses": "./.github/actions/greet",
        "with": {"who": "${{ github.ref_name }}", "skip": "true"},
    }
    workflow.write_text(yaml.safe_dump({"name": "w", "jobs": {"j": {"steps": [checkout, greet]}}}))
    player = WorkflowPlayer(workflow, source.path, tmp_path / "cache", tmp_path / "tools")
    push = Event(name="push", sha=sha, ref="refs/heads/main", payload={})

    played = player.play("j", push, tmp_path / "play")

    assert [(s.name, s.outcome) for s in played.steps] == [
        ("actions/checkout@v4", "success"),
        ("greet / say", "success"),
        ("greet / maybe", "skipped"),
    ], played.failure_log()
    assert played.summary == "hello main\n"
    greet["with"] = {"who": "x", "typo": "y"}
    workflow.write_text(yaml.safe_dump({"name": "w", "jobs": {"j": {"steps": [checkout, greet]}}}))
    with pytest.raises(ValueError, match="declares no input typo"):
        WorkflowPlayer(workflow, source.path, tmp_path / "cache", tmp_path / "tools").play(
            "j", push, tmp_path / "typo"
        )


def count_runs(dagster_home: Path) -> int:
    with sqlite3.connect(dagster_home / "history" / "runs.db") as db:
        return db.execute("select count(*) from runs").fetchone()[0]


@pytest.mark.pipeline
def test_playing_main_then_a_pull_request_carries_the_baseline_in_the_cache_alone(tmp_path):
    """The retrain workflow as GitHub runs it, against the fake GitHub API: a push to main, then
    a PR that nudges the learning rate, each in a fresh clone that gets only what the workflow's
    cache steps keep. The PR's comment compares with main's run from the cached MLflow store; a
    second play of the PR edits that comment instead of adding one.

    Each play takes a minute or so: installing, importing TensorFlow, training a few epochs.
    """
    source = project_repository(tmp_path / "origin")
    main = source.git("rev-parse", "HEAD")
    source.git("checkout", "--quiet", "-b", "lr-nudge")
    head = source.commit({"README.md": "# a PR\n"}, "a pull request")
    repository = {"full_name": "octo/model", "default_branch": "main"}
    push = Event(
        name="push",
        sha=main,
        ref="refs/heads/main",
        payload={"ref": "refs/heads/main", "after": main, "repository": repository},
    )
    pull = Event(
        name="pull_request",
        sha=head,
        ref="refs/pull/42/merge",
        head_ref="lr-nudge",
        base_ref="main",
        payload={
            "action": "synchronize",
            "number": 42,
            "pull_request": {
                "number": 42,
                "head": {"sha": head, "ref": "lr-nudge", "repo": {"full_name": "octo/model"}},
                "base": {"ref": "main", "repo": {"full_name": "octo/model"}},
            },
            "repository": repository,
        },
    )
    cache = tmp_path / "actions_cache"
    github = FakeGitHub(repository="octo/model").start()
    github.add_pull(42, head_sha=head)
    fast = run_config()  # a few epochs at learning rate 0.02; the PR's variable nudges it
    nudged = run_config(train={"learning_rate": 0.021})
    player = WorkflowPlayer(
        RETRAIN,
        source.path,
        cache_dir=cache,
        tool_dir=tmp_path / "tool_cache",
        variables={"RETRAIN_RUN_CONFIG": json.dumps(fast)},
        api_url=github.url,
        secrets={"GITHUB_TOKEN": github.token},
    )
    try:
        on_main = player.play("retrain", push, tmp_path / "main")
        player.variables["RETRAIN_RUN_CONFIG"] = json.dumps(nudged)
        played = player.play("retrain", pull, tmp_path / "play")
        first_comments = [(c.id, c.body) for c in github.comments_on("issue", 42)]
        replayed = player.play("retrain", pull, tmp_path / "replay")
    finally:
        github.stop()

    assert on_main.succeeded, on_main.failure_log()
    on_main_comment = (on_main.workspace / "artifacts" / "pr_comment.md").read_text()
    assert "No baseline yet" in on_main_comment
    # The push to main was a merge on a clean checkout: its model is the first champion.
    assert "**Promoted:** v1 is the champion of `mlops-assets` (the first)." in on_main_comment
    assert played.succeeded, played.failure_log()
    assert [s.outcome for s in played.steps] == ["success"] * len(played.steps)
    workspace = played.workspace
    assert (workspace / "README.md").read_text() == "# a PR\n"  # the PR's commit was checked out
    comment = (workspace / "artifacts" / "pr_comment.md").read_text()
    assert comment.startswith("<!-- mlops-assets report -->")
    uploaded = played.uploads / "model-and-report" / "artifacts"
    assert (uploaded / "latest" / "model.keras").stat().st_size > 1000
    assert (uploaded / "latest" / "report.md").read_text()
    assert (uploaded / "pr_comment.md").read_text() == comment
    # DAGSTER_HOME and the MLflow store came from main's cache entry, and go back with this run.
    restored = [s.log for s in played.steps if s.log.startswith("cache")]
    assert restored == ["cache restored from dagster-home-main-1001-1"]
    assert count_runs(workspace / ".dagster_home") == 2
    assert count_runs(cache / "dagster-home-lr-nudge-1002-1" / ".dagster_home") == 2
    # The baseline is main's champion, found in the cached store and named with its source;
    # the same rows were held out, so the models are compared paired: a nudge is within noise.
    assert (
        "the champion, version 1 of 'mlops-assets' in the local MLflow store mlflow.db" in comment
    )
    assert "Registered as v2 of `mlops-assets` (alias `pr-42`), a candidate: merging would " in (
        comment
    )
    assert "replace champion v1 (test_mae " in comment and f"commit {main[:7]})." in comment
    assert "Compared paired, both models on the same 89 held-out rows" in comment
    assert "⚪ within noise" in comment.split("### Metrics")[0]
    assert "| train.learning_rate | `0.02` | `0.021` |" in comment
    # What ran and why: the data and the split reused from main's run, the model retrained.
    assert "| raw_data | reused | inputs, parameters and code unchanged since run" in comment
    assert (
        "| trained_model | **recomputed** | changed: train.learning_rate (`0.02` → `0.021`) |"
        in comment
    )
    # The comment arrived on PR 42 through the API, the same body as the local copy.
    [(posted_id, posted_body)] = first_comments
    assert posted_body == comment
    assert github.token not in played.failure_log() + posted_body
    # The second play of the same event reuses everything and edits that comment.
    assert replayed.succeeded, replayed.failure_log()
    again = (replayed.workspace / "artifacts" / "pr_comment.md").read_text()
    assert "| trained_model | reused |" in again and "Compared paired" in again
    [sticky] = github.comments_on("issue", 42)
    assert sticky.id == posted_id and sticky.body == again
    assert len(github.calls("PATCH", r"/issues/comments/")) == 1
    assert len(github.calls("POST", r"/issues/42/comments")) == 1
    # Each play left the gate's verdict as a check run on the PR's head commit.
    runs = github.check_runs(head)
    assert [(r.name, r.status, r.conclusion) for r in runs] == [
        ("mlops-assets / model gate", "completed", "success")
    ] * 2
