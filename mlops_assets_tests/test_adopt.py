"""Adopting the pipeline in another repository: ``mlops-assets init`` as a user runs it, the
wheel installed where no checkout of ours is importable driving that repository's pipeline
from its own directory, and the retrain workflow init wrote, played against the fake GitHub."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from mlops_assets import __version__
from mlops_assets.params import load_params
from mlops_assets.scaffold import InitError, InitOptions, init_project
from mlops_assets.scaffold.inference import infer, infer_task
from mlops_assets.settings import project_dir
from mlops_assets_tests.support.datasets import heart_frame
from mlops_assets_tests.support.fake_github import FakeGitHub
from mlops_assets_tests.support.git_repo import GitRepo
from mlops_assets_tests.support.installed import build_wheel, clean_env, install_wheel
from mlops_assets_tests.support.workflow_player import Event, WorkflowPlayer
from mlops_assets_tests.test_workflows import check_schema

REPO = project_dir()
WORKFLOWS = ["retrain.yml", "rollback.yml", "scheduled-retrain.yml"]
FAST_EDIT = {
    "epochs: 300 ": "epochs: 3   ",
    "early_stopping_patience: 30": "early_stopping_patience: 0",
}


def repository(path: Path, rows: int = 200) -> GitRepo:
    """A git repository holding only a CSV with string categoricals (Sex M/F, ...)."""
    repo = GitRepo(path)
    repo.commit({"data/heart.csv": heart_frame(rows).to_csv(index=False)}, "the data")
    return repo


def init(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m mlops_assets init`` from ``cwd`` with this checkout's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_ASSETS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "mlops_assets", "init", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listing(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.relative_to(root).parts
    )


def fast(params: Path) -> None:
    """The user's edit: a few epochs (the file as init wrote it, two numbers changed)."""
    text = params.read_text()
    for old, new in FAST_EDIT.items():
        assert old in text, old
        text = text.replace(old, new)
    params.write_text(text)


# ---- init ----


def test_init_writes_a_params_yaml_that_loads_and_shows_each_inferred_choice(tmp_path):
    repo = repository(tmp_path / "repo")

    done = init(repo.path / "data", "--data", "heart.csv", "--target", "HeartDisease")

    assert done.returncode == 0, done.stderr
    params = load_params(repo.path / "params.yaml")  # what a run loads
    assert params.data.path == "data/heart.csv"  # relative to the repository, not to cwd
    assert params.data.task == "binary_classification"
    assert params.data.columns.categorical == [
        "Sex",
        "ChestPainType",
        "RestingECG",
        "ExerciseAngina",
        "ST_Slope",
    ]
    assert "Age" in params.data.columns.numeric and params.data.columns.drop == []
    text = (repo.path / "params.yaml").read_text()
    assert "task: binary_classification    # inferred: 2 labels (0, 1)" in text
    assert "null = the last in sorted order (1)" in text
    assert listing(repo.path) == [
        ".github",
        ".github/workflows",
        *(f".github/workflows/{name}" for name in WORKFLOWS),
        ".gitignore",
        "data",
        "data/heart.csv",
        "params.yaml",
    ]  # no dvc.yaml without --dvc
    ignored = (repo.path / ".gitignore").read_text().splitlines()
    assert {"mlflow.db", ".dagster_home/", "/artifacts/*"} <= set(ignored)
    after = done.stdout.split("next:\n")[1].splitlines()
    assert len(after) == 3 and after[0].strip().startswith("mlops-assets run")
    assert after[1].strip().startswith("git add .github/workflows/retrain.yml")
    assert "git push" in after[2]


@pytest.mark.parametrize(
    "target, values, task",
    [
        ("y", ["Yes", "No"] * 15, "binary_classification"),
        ("y", [0, 1, 2, 3, 4] * 6, "multiclass_classification"),
        ("y", ["a", "b", "c"] * 10, "multiclass_classification"),
        ("y", [i * 1.5 for i in range(30)], "regression"),
        ("y", [i % 60 for i in range(120)], "regression"),  # 60 distinct whole numbers
        ("y", [0.5, 1.5, 2.5] * 10, "regression"),  # three values, but not labels
    ],
)
def test_the_task_follows_the_number_of_labels(tmp_path, target, values, task):
    csv = tmp_path / "d.csv"
    rows = [f"{i % 7},{'MF'[i % 2]},{value}" for i, value in enumerate(values)]
    csv.write_text("x,sex,y\n" + "\n".join(rows) + "\n")

    inferred = infer(csv, target)

    assert inferred.task == task
    assert (inferred.numeric, inferred.categorical) == (["x"], ["sex"])


def test_the_task_rule_at_its_edges():
    assert infer_task(2, numbers=True, integers=False) == "binary_classification"
    assert infer_task(3, numbers=False, integers=False) == "multiclass_classification"
    assert infer_task(50, numbers=True, integers=True) == "multiclass_classification"
    assert infer_task(51, numbers=True, integers=True) == "regression"
    assert infer_task(1, numbers=True, integers=True) == "regression"


def test_an_id_column_is_dropped_with_the_reason_in_a_comment(tmp_path):
    repo = repository(tmp_path / "repo", rows=60)
    frame = heart_frame(60)
    frame.insert(0, "PatientId", [f"P{i:04d}" for i in range(60)])
    frame.to_csv(repo.path / "data" / "heart.csv", index=False)

    done = init(repo.path, "--data", "data/heart.csv", "--target", "HeartDisease")

    assert done.returncode == 0, done.stderr
    assert load_params(repo.path / "params.yaml").data.columns.drop == ["PatientId"]
    assert (
        "# PatientId: column 'PatientId' has 60 distinct values in 60 rows"
        in (repo.path / "params.yaml").read_text()
    )


def test_a_second_init_refuses_and_keeps_the_users_params_yaml(tmp_path):
    repo = repository(tmp_path / "repo")
    args = ("--data", "data/heart.csv", "--target", "HeartDisease")
    assert init(repo.path, *args).returncode == 0
    fast(repo.path / "params.yaml")  # the user's edit
    edited = (repo.path / "params.yaml").read_text()
    ignore = (repo.path / ".gitignore").read_text()

    again = init(repo.path, *args)

    assert again.returncode == 2
    [line] = again.stderr.splitlines()
    assert line == (
        "mlops-assets: params.yaml exists: not overwritten, nothing written (--force overwrites)"
    )
    assert again.stdout == ""
    assert (repo.path / "params.yaml").read_text() == edited
    assert (repo.path / ".gitignore").read_text() == ignore

    options = InitOptions(data="data/heart.csv", target="HeartDisease", force=True, dvc=True)
    init_project(options, cwd=repo.path)
    assert "epochs: 300 " in (repo.path / "params.yaml").read_text()
    lines = (repo.path / ".gitignore").read_text().splitlines()
    entries = [line for line in lines if not line.startswith("#")]
    assert len(entries) == len(set(entries))  # never twice
    assert "!/artifacts/dvc/" in entries and (repo.path / "dvc.yaml").is_file()


def test_gitignore_entries_already_there_are_not_repeated(tmp_path):
    repo = repository(tmp_path / "repo")
    (repo.path / ".gitignore").write_text("mlflow.db\n.dagster_home/\n*.pyc")

    assert init(repo.path, "--data", "data/heart.csv", "--target", "HeartDisease").returncode == 0

    lines = (repo.path / ".gitignore").read_text().splitlines()
    assert lines.count("mlflow.db") == 1 and lines.count(".dagster_home/") == 1
    assert lines[:3] == ["mlflow.db", ".dagster_home/", "*.pyc"] and "/artifacts/*" in lines


@pytest.mark.parametrize(
    "args, named",
    [
        (("--data", "data/heart.csv", "--target", "Heart"), "target column 'Heart' not found"),
        (("--data", "data/nope.csv", "--target", "HeartDisease"), "data/nope.csv: no such file"),
        (("--data", "data/bad.csv", "--target", "HeartDisease"), "bad.csv: not UTF-8 text"),
        (("--data", "data/heart.csv"), "--target is required (stdin is not a terminal"),
        (
            ("--data", "data/heart.csv", "--target", "HeartDisease", "--from-git", "https://x/y"),
            "--from-git https://x/y: pin it to a tag or commit, e.g. https://x/y@v",
        ),
        (
            ("--data", "data/heart.csv", "--target", "HeartDisease", "--from-path", "no.whl"),
            "--from-path no.whl: not in the repository ",
        ),
    ],
)
def test_an_unreadable_csv_or_unknown_target_fails_naming_it_and_writes_nothing(
    tmp_path, args, named
):
    repo = repository(tmp_path / "repo")
    (repo.path / "data" / "bad.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    before = listing(repo.path)

    done = init(repo.path, *args, stdin="")

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("mlops-assets: ") and named in line, line
    assert listing(repo.path) == before


def test_a_terminal_is_asked_for_the_data_and_the_target(tmp_path):
    repo = repository(tmp_path / "repo")
    questions: list[str] = []
    answers = iter(["data/heart.csv", "HeartDisease"])

    def ask(question: str) -> str:
        questions.append(question)
        return next(answers)

    written, commands = init_project(InitOptions(), cwd=repo.path, ask=ask)

    assert questions == ["CSV to learn from (path): ", "column of data/heart.csv to predict: "]
    assert repo.path / "params.yaml" in written and len(commands) == 3
    with pytest.raises(InitError, match="--data is required"):
        init_project(InitOptions(force=True), cwd=repo.path, ask=lambda question: " ")


def test_on_a_terminal_init_asks_for_what_the_flags_did_not_say(tmp_path):
    """Run in a pseudo-terminal, as a person runs it: the prompts are answered on stdin."""
    pty = pytest.importorskip("pty")
    repo = repository(tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "mlops_assets", "init", "--target", "HeartDisease"]
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        command, cwd=repo.path, env=env, stdin=secondary, stdout=secondary, stderr=secondary
    )
    os.close(secondary)
    os.write(primary, b"data/heart.csv\n")
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=120) == 0, output.decode()
    os.close(primary)
    assert b"CSV to learn from (path): " in output
    assert load_params(repo.path / "params.yaml").data.path == "data/heart.csv"


def test_init_outside_a_git_repository_says_so(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    done = init(tmp_path, "--data", "d.csv", "--target", "b")
    if done.returncode == 0:
        pytest.skip("the temporary directory is inside a git repository")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.endswith(
        "is not in a git repository: mlops-assets init adds the pipeline to an "
        "existing one (git init first)"
    )


@pytest.mark.parametrize(
    "flags, package",
    [
        ((), f"mlops-assets[cpu]=={__version__}"),
        (
            ("--from-git", "https://github.com/o/mlops-assets@v1.2"),
            "mlops-assets[cpu] @ git+https://github.com/o/mlops-assets@v1.2",
        ),
        (
            ("--from-path", "vendor/mlops_assets-1-py3-none-any.whl"),
            "vendor/mlops_assets-1-py3-none-any.whl[cpu]",
        ),
    ],
)
def test_the_workflows_init_writes_are_valid_and_install_what_was_asked(tmp_path, flags, package):
    repo = repository(tmp_path / "repo")
    (repo.path / "vendor").mkdir()
    (repo.path / "vendor" / "mlops_assets-1-py3-none-any.whl").touch()  # a committed wheel

    done = init(repo.path, "--data", "data/heart.csv", "--target", "HeartDisease", *flags)

    assert done.returncode == 0, done.stderr
    paths = [repo.path / ".github" / "workflows" / name for name in WORKFLOWS]
    checked = check_schema([str(p) for p in paths])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for path in paths:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {"contents": "read"}
        [job] = workflow["jobs"].values()
        uses = [s.get("uses", "").split("@")[0] for s in job["steps"]]
        assert uses[:3] == ["actions/checkout", "actions/setup-python", "astral-sh/setup-uv"]
        [install] = [s for s in job["steps"] if s.get("name") == "Install mlops-assets"]
        assert install["env"]["PACKAGE"] == package
        assert install["run"] == 'uv pip install "$PACKAGE"'


def test_a_bad_flag_is_one_line_naming_it_and_version_prints_the_version(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "mlops_assets"]
    done = subprocess.run(
        [*command, "run", "--forse"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr == (
        "mlops-assets: unrecognized arguments: --forse (see mlops-assets --help)\n"
    )
    version = subprocess.run([*command, "--version"], env=env, capture_output=True, text=True)
    assert version.stdout == f"mlops-assets {__version__}\n"


def test_the_version_is_written_in_one_place():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "mlops_assets.__version__"}


# ---- the wheel, installed ----


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def state_of_this_checkout() -> dict:
    """What a run here would change: mlflow.db, artifacts/ and params.yaml (stat and size)."""
    paths = [REPO / "mlflow.db", REPO / "params.yaml"]
    if (REPO / "artifacts").exists():
        paths += sorted((REPO / "artifacts").rglob("*"))
    return {
        str(p): (p.lstat().st_mtime_ns, p.lstat().st_size) if p.exists() else None for p in paths
    }


@pytest.mark.pipeline
@pytest.mark.slow(reason="builds and installs the wheel, then two trainings and a Dagster CLI")
def test_the_installed_wheel_runs_another_repositorys_pipeline_from_its_directory(tmp_path, wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for template in ["params.yaml", "dvc.yaml", "setup-steps.yml", *WORKFLOWS]:
        assert f"mlops_assets/templates/{template}.tmpl" in names
    metadata = (
        zipfile.ZipFile(wheel).read(f"mlops_assets-{__version__}.dist-info/METADATA").decode()
    )
    for field in (
        "Requires-Python: ",
        "Provides-Extra: cpu",
        "Provides-Extra: tensorflow",
        "Project-URL: Source",
        "Classifier: License :: OSI Approved",
        "License-File: ",
    ):
        assert field in metadata, field
    assert "Description-Content-Type: text/markdown" in metadata
    venv = install_wheel(wheel, tmp_path / "user")
    repo = repository(tmp_path / "their-repo")
    env = clean_env(venv, DAGSTER_HOME=str(tmp_path / "dagster_home"))
    before = state_of_this_checkout()

    def user(*command: str, **variables: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(command),
            cwd=repo.path,
            env={**env, **variables},
            capture_output=True,
            text=True,
            timeout=600,
        )

    where = user("python", "-c", "import mlops_assets, sys; print(mlops_assets.__file__, sys.path)")
    assert where.stdout.startswith(str(venv)) and str(REPO) not in where.stdout
    assert user("mlops-assets", "--version").stdout == f"mlops-assets {__version__}\n"

    outside = user("mlops-assets", "run")  # no params.yaml here or above yet
    assert outside.returncode == 2
    [line] = outside.stderr.splitlines()
    assert "no params.yaml in " in line and "`mlops-assets init`" in line

    created = user("mlops-assets", "init", "--data", "data/heart.csv", "--target", "HeartDisease")
    assert created.returncode == 0, created.stderr
    params = repo.path / "params.yaml"
    written = params.read_text()
    params.write_text(written.replace("  learning_rate:", "  learnin_rate:"))
    typo = user("mlops-assets", "run")
    assert typo.returncode == 2
    [line] = typo.stderr.splitlines()
    assert line.startswith(f"mlops-assets: {params}: ") and "'train.learnin_rate'" in line
    params.write_text(written)
    fast(params)

    ran = user("mlops-assets", "run")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "roc_auc " in ran.stdout and "quality gate passed" in ran.stdout
    assert "browse   dagster dev -m mlops_assets (the Dagster UI" in ran.stdout  # no Makefile
    latest = repo.path / "artifacts" / "latest"
    assert (latest / "model.keras").stat().st_size > 1000
    assert "roc_auc" in (latest / "report.md").read_text()
    assert (repo.path / "mlflow.db").is_file()
    first_run = latest.resolve()

    materialize = ["python", "-m", "dagster", "asset", "materialize", "-m", "mlops_assets"]
    # forced: unchanged, every asset would be reused and nothing new written
    materialized = user(*materialize, "--select", "*", MLOPS_ASSETS_FORCE="1")
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    assert "RUN_SUCCESS" in materialized.stderr + materialized.stdout
    assert (repo.path / "artifacts" / "latest" / "metrics.json").is_file()
    runs = list((repo.path / "artifacts" / "runs").iterdir())
    assert len(runs) == 2 and first_run in [r.resolve() for r in runs]

    refused = user("mlops-assets", "init", "--data", "data/heart.csv", "--target", "HeartDisease")
    assert refused.returncode == 2 and "params.yaml exists" in refused.stderr
    assert "epochs: 3 " in params.read_text()
    assert state_of_this_checkout() == before


@pytest.mark.pipeline
@pytest.mark.slow(reason="installs the wheel in the played workflow, then trains")
def test_the_player_plays_the_retrain_workflow_init_wrote_and_it_posts_the_comment(tmp_path, wheel):
    repo = repository(tmp_path / "origin")
    done = init(
        repo.path, "--data", "data/heart.csv", "--target", "HeartDisease", "--from-path", str(wheel)
    )
    assert done.returncode == 0, done.stderr
    fast(repo.path / "params.yaml")
    repo.git("add", "-A")
    main = repo.commit({}, "mlops-assets init")
    repo.git("checkout", "--quiet", "-b", "more-data")
    head = repo.commit({"notes.md": "more rows soon\n"}, "a pull request")
    repository_json = {"full_name": "octo/heart", "default_branch": "main"}
    pull = Event(
        name="pull_request",
        sha=head,
        ref="refs/pull/7/merge",
        head_ref="more-data",
        base_ref="main",
        payload={
            "action": "opened",
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {"sha": head, "ref": "more-data", "repo": {"full_name": "octo/heart"}},
                "base": {"ref": "main", "repo": {"full_name": "octo/heart"}},
            },
            "repository": repository_json,
        },
    )
    github = FakeGitHub(repository="octo/heart").start()
    github.add_pull(7, head_sha=head)
    player = WorkflowPlayer(
        repo.path / ".github" / "workflows" / "retrain.yml",
        repo.path,
        cache_dir=tmp_path / "actions_cache",
        tool_dir=tmp_path / "tool_cache",
        repository="octo/heart",
        api_url=github.url,
        secrets={"GITHUB_TOKEN": github.token},
    )
    try:
        played = player.play("retrain", pull, tmp_path / "play")
    finally:
        github.stop()

    assert played.succeeded, played.failure_log()
    assert main != head
    installed = [s for s in played.steps if s.name.startswith("Install mlops-assets")]
    assert [s.outcome for s in installed] == ["success"]
    [comment] = github.comments_on("issue", 7)
    assert comment.body.startswith("<!-- mlops-assets report -->")
    assert "roc_auc" in comment.body
    assert comment.body == (played.workspace / "artifacts" / "pr_comment.md").read_text()
    assert (played.uploads / "model-and-report" / "artifacts" / "latest" / "model.keras").is_file()
    assert github.token not in played.failure_log() + comment.body


def test_with_dvc_the_stages_init_writes_are_a_pipeline_dvc_reads(tmp_path):
    repo = repository(tmp_path / "repo", rows=60)
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "--quiet"], cwd=repo.path, check=True)
    args = ("--data", "data/heart.csv", "--target", "HeartDisease", "--dvc")

    assert init(repo.path, *args).returncode == 0

    status = subprocess.run(
        [*dvc, "status"], cwd=repo.path, capture_output=True, text=True, check=False
    )
    assert status.returncode == 0, status.stderr
    for stage in ("raw_data", "features", "trained_model", "metrics_report", "pr_comment"):
        assert f"{stage}:" in status.stdout  # nothing run yet: every stage is stale
    assert "modified:           data/heart.csv" in status.stdout  # ${data.path}, from params.yaml
