"""The git sensor and the retrain schedule, on real temporary git repositories and instances."""

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, SensorResult, build_schedule_context, build_sensor_context

from mlops_assets import run_tags, settings
from mlops_assets.defs.schedules import build_schedule
from mlops_assets.defs.sensors import git_changes_sensor, plan_git_tick, read_cursor, write_cursor
from mlops_assets.settings import ScheduleSettings, WatchSettings, project_dir
from mlops_assets_tests.support.git_repo import GitRepo
from mlops_assets_tests.support.params import params_yaml

GLOBS = ("data/*", "params.yaml", "mlops_assets/*")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "project")
    repo.commit({"data/train.csv": "x,y\n1,2\n", "README.md": "# project\n"}, "initial")
    return repo


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        yield instance


def tick(repo: GitRepo | Path, cursor: dict | None = None, branches=(), globs=GLOBS):
    path = repo.path if isinstance(repo, GitRepo) else repo
    return plan_git_tick(WatchSettings(path, tuple(branches), tuple(globs)), cursor or {})


def test_first_tick_starts_watching_then_a_data_commit_requests_one_tagged_run(repo):
    requests, reasons, cursor = tick(repo)
    assert requests == []
    started = f"main: started watching at {repo.head()[:10]}; later commits that change"
    assert reasons == [f"{started} {list(GLOBS)} retrain"]
    assert cursor == {"main": repo.head()}
    previous = repo.head()

    sha = repo.commit({"data/train.csv": "x,y\n1,2\n3,4\n"}, "more data")
    [request], reasons, cursor = tick(repo, cursor)

    assert request.run_key == sha
    assert request.tags[run_tags.COMMIT] == sha
    assert request.tags[run_tags.BRANCH] == "main"
    assert request.tags[run_tags.PREVIOUS_COMMIT] == previous
    assert request.tags[run_tags.CHANGED_PATHS] == "data/train.csv"
    assert cursor == {"main": sha}
    assert tick(repo, cursor)[:2] == ([], [f"main: no new commit since {sha[:10]}"])


def test_documentation_only_commits_do_not_retrain(repo):
    cursor = {"main": repo.head()}
    repo.commit({"README.md": "# project\nmore words\n", "docs/usage.md": "how\n"}, "docs")

    requests, [reason], next_cursor = tick(repo, cursor)

    assert requests == []
    assert "2 path(s) changed" in reason and "README.md, docs/usage.md" in reason
    assert "none matches the watched paths" in reason
    assert next_cursor == {"main": repo.head()}


def test_a_burst_of_commits_yields_one_run_for_the_newest_with_every_changed_input(repo):
    cursor = {"main": repo.head()}
    repo.commit({"params.yaml": params_yaml(train={"epochs": 5})}, "params")
    repo.commit({"README.md": "docs\n"}, "docs")
    newest = repo.commit({"mlops_assets/model.py": "x = 1\n"}, "code")

    [request], _, _ = tick(repo, cursor)

    assert request.run_key == newest
    assert request.tags[run_tags.CHANGED_PATHS] == "mlops_assets/model.py, params.yaml"


def test_unusual_file_names_match_unquoted(repo):
    cursor = {"main": repo.head()}
    repo.commit({"data/données été.csv": "x\n1\n"}, "accents and spaces")

    [request], _, _ = tick(repo, cursor)

    assert request.tags[run_tags.CHANGED_PATHS] == "data/données été.csv"


def test_a_change_reverted_within_the_burst_is_no_change(repo):
    cursor = {"main": repo.head()}
    original = (repo.path / "data/train.csv").read_text()
    repo.commit({"data/train.csv": "x,y\n9,9\n"}, "oops")
    repo.commit({"data/train.csv": original}, "revert")

    requests, [reason], _ = tick(repo, cursor)

    assert requests == []
    assert "0 path(s) changed" in reason


def test_force_push_compares_the_old_tip_with_the_new_tip(repo):
    repo.commit({"README.md": "v2\n"}, "docs")
    old_tip = repo.head()
    repo.git("reset", "--quiet", "--hard", "HEAD~1")  # rewrite: the old tip is no ancestor now
    new_tip = repo.commit({"data/train.csv": "x,y\n5,6\n"}, "rewritten")

    [request], _, cursor = tick(repo, {"main": old_tip})

    assert request.run_key == new_tip
    assert request.tags[run_tags.CHANGED_PATHS] == "data/train.csv"
    assert cursor == {"main": new_tip}


def test_a_cursor_commit_that_no_longer_exists_retrains_the_new_tip(repo):
    gone = "0123456789abcdef0123456789abcdef01234567"

    [request], _, cursor = tick(repo, {"main": gone})

    assert request.run_key == repo.head()
    assert request.tags[run_tags.CHANGED_PATHS].startswith("unknown: the previous commit")
    assert cursor == {"main": repo.head()}


def test_a_shallow_clone_is_watched_without_its_history(repo, tmp_path):
    first = repo.head()
    for n in range(3):
        repo.commit({"README.md": f"v{n}\n"}, f"docs {n}")
    clone = GitRepo(tmp_path / "shallow", init=False)
    GitRepo(tmp_path).git("clone", "--quiet", "--depth", "1", f"file://{repo.path}", "shallow")
    assert clone.git("rev-parse", "--is-shallow-repository") == "true"

    [request], _, _ = tick(clone, {"main": first})  # the cursor's commit was not fetched
    assert request.tags[run_tags.CHANGED_PATHS].startswith("unknown")

    cursor = {"main": clone.head()}
    sha = clone.commit({"data/train.csv": "x,y\n7,8\n"}, "new data")
    [request], _, _ = tick(clone, cursor)
    assert (request.run_key, request.tags[run_tags.CHANGED_PATHS]) == (sha, "data/train.csv")


def test_detached_head_is_watched_as_head(repo):
    cursor = {"HEAD": repo.head()}
    repo.commit({"data/train.csv": "x,y\n0,0\n"}, "data")
    repo.git("checkout", "--quiet", "--detach", "HEAD")

    [request], _, next_cursor = tick(repo, cursor)

    assert request.tags[run_tags.BRANCH] == "(detached HEAD)"
    assert next_cursor == {"HEAD": repo.head()}


def test_configured_branches_are_watched_and_one_commit_on_two_branches_runs_once(repo):
    repo.git("branch", "release")
    cursor = {"main": repo.head(), "release": repo.head()}
    sha = repo.commit({"data/train.csv": "x,y\n1,1\n"}, "data")
    repo.git("branch", "--force", "release", "main")

    requests, _, next_cursor = tick(repo, cursor, branches=["main", "release"])

    assert [r.run_key for r in requests] == [sha]
    assert next_cursor == {"main": sha, "release": sha}
    _, [reason], unchanged = tick(repo, next_cursor, branches=["nope"])
    assert "branch 'nope' does not exist" in reason and unchanged == next_cursor


def test_a_project_inside_a_larger_repository_matches_globs_relative_to_the_project(tmp_path):
    mono = GitRepo(tmp_path / "mono")
    mono.commit({"ml/data/a.csv": "1\n", "web/data/b.csv": "1\n"}, "initial")
    cursor = {"main": mono.head()}
    mono.commit({"web/data/b.csv": "2\n"}, "web only")

    assert tick(mono.path / "ml", cursor)[0] == []

    sha = mono.commit({"ml/data/a.csv": "2\n"}, "ml data")
    [request], _, _ = tick(mono.path / "ml", cursor)
    assert (request.run_key, request.tags[run_tags.CHANGED_PATHS]) == (sha, "data/a.csv")


@pytest.mark.parametrize("make", ["missing", "plain directory"])
def test_a_missing_repository_is_a_clear_skip_that_keeps_the_cursor(tmp_path, make):
    path = tmp_path / "nowhere"
    if make == "plain directory":
        path.mkdir()
    cursor = {"main": "abc"}

    requests, [reason], next_cursor = tick(path, cursor)

    assert requests == [] and next_cursor == cursor
    assert str(path) in reason
    assert ("does not exist" if make == "missing" else "not a git repository") in reason


def test_cursor_round_trips_and_garbage_starts_afresh():
    commits = {"main": "a" * 40, "HEAD": "b" * 40}
    assert read_cursor(write_cursor(commits)) == commits
    for garbage in (None, "", "not json", "[1, 2]", '"main"'):
        assert read_cursor(garbage) == {}


def test_the_sensor_on_a_real_instance_follows_commits_through_its_cursor(
    repo, instance, monkeypatch
):
    monkeypatch.setenv(settings.WATCH_REPO, str(repo.path))
    monkeypatch.delenv(settings.WATCH_PATHS, raising=False)  # params.yaml's defaults

    first = git_changes_sensor(build_sensor_context(instance=instance))
    assert isinstance(first, SensorResult)
    assert first.run_requests == [] and "started watching" in first.skip_reason.skip_message

    sha = repo.commit({"data/train.csv": "x,y\n2,2\n"}, "data")
    second = git_changes_sensor(build_sensor_context(instance=instance, cursor=first.cursor))
    assert [r.run_key for r in second.run_requests] == [sha]
    assert read_cursor(second.cursor) == {"main": sha}

    repo.commit({"notes.txt": "hello\n"}, "notes")
    third = git_changes_sensor(build_sensor_context(instance=instance, cursor=second.cursor))
    assert third.run_requests == [] and "none matches" in third.skip_reason.skip_message


def test_the_sensor_on_a_missing_repository_skips_instead_of_failing(
    tmp_path, instance, monkeypatch
):
    monkeypatch.setenv(settings.WATCH_REPO, str(tmp_path / "gone"))

    result = git_changes_sensor(build_sensor_context(instance=instance, cursor='{"main": "abc"}'))

    assert result.run_requests == []
    assert "does not exist" in result.skip_reason.skip_message
    assert read_cursor(result.cursor) == {"main": "abc"}


def test_a_bad_watch_paths_setting_in_params_yaml_is_a_skip(tmp_path, instance, monkeypatch):
    params = yaml.safe_load((project_dir() / "params.yaml").read_text())
    params["automation"]["watch_paths"] = "data/*"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv("MLOPS_ASSETS_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv(settings.WATCH_PATHS, raising=False)

    result = git_changes_sensor(build_sensor_context(instance=instance))

    assert "automation.watch_paths: Input should be a valid list" in result.skip_message
    assert str(tmp_path / "params.yaml") in result.skip_message


def test_the_watch_paths_come_from_the_environment_when_set(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.WATCH_PATHS, "data/*, features.yaml")
    monkeypatch.setenv(settings.WATCH_BRANCHES, "main,dev")
    monkeypatch.setenv(settings.WATCH_REPO, str(tmp_path))

    watch = WatchSettings.from_env()

    assert watch == WatchSettings(tmp_path.resolve(), ("main", "dev"), ("data/*", "features.yaml"))


def test_the_schedule_is_weekly_by_default_and_tags_the_scheduled_time():
    schedule = build_schedule(ScheduleSettings.from_env())
    assert schedule.cron_schedule == "0 3 * * 1"
    assert schedule.job_name == "retrain"
    when = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)

    [request] = schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=when)
    ).run_requests

    assert request.tags[run_tags.SCHEDULED_TIME] == "2026-11-30T03:00:00+00:00"
    assert request.tags[run_tags.TRIGGER] == "schedule"
    assert request.run_key == "2026-11-30T03:00:00+00:00"


def test_the_schedule_cron_comes_from_the_environment_and_a_bad_one_is_named(monkeypatch):
    monkeypatch.setenv(settings.RETRAIN_CRON, "0 6 * * *")
    monkeypatch.setenv(settings.SCHEDULE_SWITCH, "off")
    daily = build_schedule(ScheduleSettings.from_env())
    assert daily.cron_schedule == "0 6 * * *"
    assert daily.default_status.value == "STOPPED"

    monkeypatch.setenv(settings.RETRAIN_CRON, "every tuesday")
    with pytest.raises(ValueError, match="MLOPS_ASSETS_RETRAIN_CRON"):
        build_schedule(ScheduleSettings.from_env())


def test_the_automation_keeps_the_code_location_light():
    code = (
        "import sys, mlops_assets; "
        "assert mlops_assets.code_location.get_sensor_def('github_pull_requests'); "
        "print(sorted(m for m in ('github', 'git', 'tensorflow', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
