"""ChatOps: `/retrain` and `/sweep` from a pull-request comment, and the safety around them.

The grammar and the rules are pure functions; the command is driven as the workflow drives it
(`python -m mlops_assets chatops` with GitHub Actions' variables and an `issue_comment` payload),
talking HTTP through PyGithub to the fake GitHub server; the workflow itself is played step by
step by the workflow player.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_assets.chatops_command import run_argv
from mlops_assets.github.chatops import (
    Command,
    PullHead,
    Refusal,
    parse_command,
    permission_refusal,
    pull_refusal,
    result_reply,
    run_environment,
    sweepable_parameters,
)
from mlops_assets.report.comment import sticky_marker
from mlops_assets.settings import project_dir
from mlops_assets_tests.support.fake_github import FakeGitHub
from mlops_assets_tests.support.git_repo import project_repository
from mlops_assets_tests.support.params import FAST, params_yaml
from mlops_assets_tests.support.workflow_player import Event, WorkflowPlayer, evaluate

CHATOPS = project_dir() / ".github" / "workflows" / "chatops.yml"
NUMBER = 42
# A few epochs, judged with room to spare against main's committed metrics (trained longer):
# these tests are about who may run what, where; the gate has tests of its own.
FAST_PARAMS = params_yaml(train=FAST, gate={"tolerance": 0.5})

# ---- the grammar -------------------------------------------------------------------------


def test_retrain_is_a_forced_run():
    command = parse_command("  /retrain \n")

    assert command == Command("retrain")
    assert command.run_args() == ["--force"]
    assert run_argv(command, "")[1:] == ["-m", "mlops_assets", "run", "--force"]


def test_a_sweep_becomes_the_run_flags_in_our_own_spelling():
    command = parse_command("/sweep train.learning_rate=0.002,.005,1e-2 train.batch_size=16,32")

    assert command.trials == 6
    assert command.run_args() == [
        "--force",
        "--sweep",
        "train.learning_rate=0.002,0.005,0.01",
        "--sweep",
        "train.batch_size=16,32",
    ]
    assert str(command) == "/sweep train.learning_rate=0.002,0.005,0.01 train.batch_size=16,32"
    argv = run_argv(command, '{"ops": {}}')
    assert argv[0] == sys.executable and argv[-2:] == ["--config-json", '{"ops": {}}']


def test_only_single_numbers_of_train_may_be_swept():
    known = sweepable_parameters()

    assert known == {
        "train.epochs": int,
        "train.batch_size": int,
        "train.learning_rate": float,
        "train.early_stopping_patience": int,
    }
    assert "train.model" not in known  # a module:function name: code, reviewed in params.yaml
    assert "train.hidden_layers" not in known and "data.path" not in known
    assert "train.validation_fraction" not in known  # the rows every trial is scored on


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("$(touch x)", "`$(touch` is not a command"),
        ("/retrain $(touch x)", "`/retrain` takes no arguments"),
        ("/retrain; touch x", "`/retrain;` is not a command"),
        ("/sweep train.learning_rate=$(touch x)", "`train.learning_rate`: `$(touch` is not a"),
        ("/sweep train.epochs=$(touch${IFS}x)", "`train.epochs`: `$(touch${IFS}x)` is not a"),
        ("/sweep train.learning_rate=0.1;touch", "`train.learning_rate`: `0.1;touch` is not a"),
        ("/sweep train.learning_rate=`id`", "`train.learning_rate`: `id` is not a number"),
        ("/sweep train.learning_rate=0.1 && touch x", "`&&` is not `<parameter>=<v1>,<v2>`"),
        ("/sweep train.model=evil:run", "unknown parameter `train.model`"),
        ("/sweep data.path=/etc/passwd", "unknown parameter `data.path`"),
        ("/sweep train.learning_rate=0,0.1", "`train.learning_rate`: 0.0 is not valid"),
        ("/sweep train.learning_rate=1e999", "`train.learning_rate`: inf is not valid"),
        ("/sweep train.epochs=1.5", "`train.epochs`: `1.5` is not a whole number"),
        ("/sweep train.epochs=2,2", "`train.epochs`: a value is repeated"),
        ("/sweep train.epochs=2 train.epochs=3", "`train.epochs` is given twice"),
        ("/sweep train.learning_rate=", "is not `<parameter>=<v1>,<v2>`"),
        ("/sweep", "`/sweep` needs at least one"),
        ("/sweep train.epochs=1,2\ntouch x", "a command is one line"),
        ("/deploy", "`/deploy` is not a command"),
        (
            "/sweep train.epochs=1,2,3,4,5,6,7,8,9 train.batch_size=1,2,3,4,5,6,7,8",
            "72 trials; at most 64",
        ),
    ],
)
def test_anything_but_known_parameters_with_literal_numbers_is_refused(body, reason):
    with pytest.raises(Refusal) as refused:
        parse_command(body)

    assert reason in str(refused.value)


@pytest.mark.parametrize(
    ("permission", "allowed"),
    [
        ("admin", True),
        ("maintain", True),
        ("write", True),
        ("triage", False),
        ("read", False),
        ("none", False),
        ("", False),
    ],
)
def test_write_maintain_or_admin_may_run_commands(permission, allowed):
    refusal = permission_refusal("mona", permission, "octo/model")

    assert (refusal is None) is allowed
    if not allowed:
        assert str(refusal).startswith(f"@mona has {permission or 'no'} permission on octo/model")


def pull(**fields) -> PullHead:
    values = {
        "number": 7,
        "state": "open",
        "sha": "c" * 40,
        "head_ref": "tune",
        "base_ref": "main",
        "head_repository": "octo/model",
        "base_repository": "octo/model",
    }
    return PullHead(**{**values, **fields})


def test_forks_deleted_forks_and_closed_pull_requests_run_nothing():
    assert pull_refusal(pull()) is None
    assert "comes from a fork (mallory/model)" in str(
        pull_refusal(pull(head_repository="mallory/model"))
    )
    assert "a deleted repository" in str(pull_refusal(pull(head_repository=None)))
    assert str(pull_refusal(pull(state="closed"))) == "pull request #7 is closed"


def test_the_run_sees_the_pull_request_it_runs_for():
    env = run_environment({"GITHUB_SHA": "d" * 40, "KEEP": "1"}, pull(), "retrain")

    assert env["GITHUB_SHA"] == "c" * 40  # the pinned head, not the default branch's commit
    assert env["GITHUB_REF"] == "refs/pull/7/merge"
    assert (env["GITHUB_HEAD_REF"], env["GITHUB_BASE_REF"]) == ("tune", "main")
    assert env["MLOPS_ASSETS_COMMENT_ON"] == "pr/7" and env["GITHUB_WORKFLOW"] == "retrain"
    assert env["KEEP"] == "1"


@pytest.mark.parametrize(
    ("returncode", "gate", "outcome"),
    [
        (0, "success", "finished, and the model gate passed"),
        (1, "failure", "finished, and the model gate refused the model"),
        (1, None, "failed before a verdict (exit code 1)"),
    ],
)
def test_the_reply_says_what_ran_where_and_the_verdict(returncode, gate, outcome):
    reply = result_reply("mona", Command("retrain"), "c" * 40, returncode, gate, "r", "l")

    assert (
        reply == f"@mona `/retrain` ran at `{'c' * 12}`: {outcome}.\n\nThe report: r\n\nThe logs: l"
    )


# ---- the command, through PyGithub over HTTP to the fake server ----------------------------


def comment_payload(fake: FakeGitHub, body: str, user: str, number: int = NUMBER) -> dict:
    """An `issue_comment` webhook payload (the fields GitHub sends that matter here), for a
    comment the fake server holds."""
    comment_id = fake.add_comment("issue", number, body, user)
    return {
        "action": "created",
        "issue": {
            "number": number,
            "pull_request": {"url": f"{fake.url}/repos/{fake.repository}/pulls/{number}"},
        },
        "comment": {"id": comment_id, "body": body, "user": {"login": user}},
        "repository": {"full_name": fake.repository, "default_branch": "main"},
    }


def chatops(fake, tmp_path, payload, *args, cwd: Path, **extra) -> subprocess.CompletedProcess:
    """`python -m mlops_assets chatops *args` as a workflow step runs it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "MLFLOW_", "DAGSTER", "MLOPS_ASSETS_"))
    }
    env.update(fake.actions_env(tmp_path, event_name="issue_comment", payload=payload))
    env["PYTHONPATH"] = str(project_dir())
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "mlops_assets", "chatops", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def replies(fake: FakeGitHub, user_comment: str) -> list[str]:
    return [
        c.body
        for c in fake.comments_on("issue", NUMBER)
        if c.body != user_comment and not c.body.startswith(sticky_marker("retrain"))
    ]


def test_a_sweep_by_a_read_only_user_is_refused_by_name_and_runs_nothing(tmp_path, fake_github):
    fake_github.add_pull(NUMBER, "c" * 40)
    fake_github.set_permission("reader", "read")
    body = "/sweep train.learning_rate=0.002,0.005"
    payload = comment_payload(fake_github, body, "reader")

    done = chatops(fake_github, tmp_path, payload, cwd=tmp_path)

    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    [reply] = replies(fake_github, body)
    assert reply == (
        "@reader `/sweep` refused: @reader has read permission on octo/retrain; commands need "
        "write, maintain or admin. Nothing was run."
    )
    assert fake_github.reactions_on(payload["comment"]["id"]) == ["eyes"]
    assert "running:" not in output and not (tmp_path / "artifacts").exists()
    assert fake_github.calls("GET", "/collaborators/reader/permission")
    assert not fake_github.calls("GET", f"/pulls/{NUMBER}")  # refused before the PR is read
    assert fake_github.token not in output


def test_a_command_on_a_fork_is_refused_even_from_an_admin(tmp_path, fake_github):
    fake_github.add_pull(NUMBER, "c" * 40, head_repo="mallory/retrain")
    fake_github.set_permission("admin-user", "admin")
    payload = comment_payload(fake_github, "/retrain", "admin-user")

    done = chatops(fake_github, tmp_path, payload, cwd=tmp_path)

    assert done.returncode == 2, done.stdout + done.stderr
    [reply] = replies(fake_github, "/retrain")
    assert "comes from a fork (mallory/retrain)" in reply and "Nothing was run" in reply


def test_a_shell_payload_from_a_writer_is_refused_and_nothing_runs(tmp_path, fake_github):
    fake_github.add_pull(NUMBER, "c" * 40)
    fake_github.set_permission("writer", "write")
    body = "/sweep train.learning_rate=$(touch x)"
    payload = comment_payload(fake_github, body, "writer")

    done = chatops(fake_github, tmp_path, payload, cwd=tmp_path)

    assert done.returncode == 2, done.stdout + done.stderr
    [reply] = replies(fake_github, body)
    assert "`train.learning_rate`: `$(touch` is not a number" in reply
    assert not (tmp_path / "x").exists()
    assert "running:" not in done.stdout


def test_edits_and_plain_comments_are_not_commands(tmp_path, fake_github):
    fake_github.add_pull(NUMBER, "c" * 40)
    plain = comment_payload(fake_github, "looks good", "writer")
    edited = {**comment_payload(fake_github, "/retrain", "writer"), "action": "edited"}

    for payload in (plain, edited):
        done = chatops(fake_github, tmp_path, payload, cwd=tmp_path)
        assert done.returncode == 0 and "nothing to do" in done.stdout
    assert fake_github.requests == []  # not even a reaction


def test_the_gate_pins_the_head_and_refuses_a_checkout_elsewhere(tmp_path, fake_github):
    """`--gate-only` writes the head it saw to GITHUB_OUTPUT; the run refuses a checkout at any
    other commit (here the project repository's main, not the pull request's head)."""
    repo = project_repository(tmp_path / "origin")
    fake_github.add_pull(NUMBER, "c" * 40)
    fake_github.set_permission("writer", "write")
    payload = comment_payload(fake_github, "/retrain", "writer")
    output = tmp_path / "github_output"

    gate = chatops(
        fake_github, tmp_path, payload, "--gate-only", cwd=repo.path, GITHUB_OUTPUT=str(output)
    )
    run = chatops(fake_github, tmp_path, payload, "--sha", "c" * 40, cwd=repo.path)

    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert output.read_text() == f"sha={'c' * 40}\n"
    assert run.returncode == 1
    assert f"is at {repo.head()}, not {'c' * 40}" in run.stderr
    [reply] = replies(fake_github, "/retrain")
    assert reply.startswith("@writer `/retrain` could not run: the checkout")


def pr_checkout(tmp_path: Path, fake: FakeGitHub):
    """The project on a PR branch with fast training parameters, checked out at its head."""
    repo = project_repository(tmp_path / "origin")
    repo.git("checkout", "--quiet", "-b", "tune")
    head = repo.commit({"params.yaml": FAST_PARAMS}, "fast training")
    fake.add_pull(NUMBER, head, head_ref="tune")
    fake.set_permission("writer", "write")
    return repo, head


def run_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }


@pytest.mark.pipeline
def test_retrain_by_a_writer_runs_at_the_head_and_updates_the_sticky_report(tmp_path, fake_github):
    repo, head = pr_checkout(tmp_path, fake_github)
    fake_github.add_comments("issue", NUMBER, [sticky_marker("retrain") + "\nan old report"])
    payload = comment_payload(fake_github, "/retrain", "writer")

    done = chatops(fake_github, tmp_path, payload, cwd=repo.path, **run_env(tmp_path))

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "running: mlops-assets run --force" in output
    [sticky] = [
        c
        for c in fake_github.comments_on("issue", NUMBER)
        if c.body.startswith(sticky_marker("retrain"))
    ]
    assert "an old report" not in sticky.body and f"`{head[:7]}`" in sticky.body
    [reply] = replies(fake_github, "/retrain")
    assert reply.startswith(f"@writer `/retrain` ran at `{head[:12]}`: finished")
    assert f"#issuecomment-{sticky.id}" in reply
    assert fake_github.reactions_on(payload["comment"]["id"]) == ["eyes"]
    [check] = fake_github.check_runs(head)  # the gate's verdict on the PR's head commit
    assert check.conclusion == "success"
    assert fake_github.token not in output + reply


@pytest.mark.pipeline
def test_a_sweep_by_a_writer_runs_and_its_trials_reach_the_sticky_report(tmp_path, fake_github):
    repo, head = pr_checkout(tmp_path, fake_github)
    body = "/sweep train.learning_rate=0.002,0.005,0.01"
    payload = comment_payload(fake_github, body, "writer")

    done = chatops(fake_github, tmp_path, payload, cwd=repo.path, **run_env(tmp_path))

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert (
        "running: mlops-assets run --force --sweep train.learning_rate=0.002,0.005,0.01" in output
    )
    [sticky] = [
        c
        for c in fake_github.comments_on("issue", NUMBER)
        if c.body.startswith(sticky_marker("retrain"))
    ]
    assert "### Sweep: 3 trials, chosen on validation" in sticky.body
    for value in ("0.002", "0.005", "0.01"):
        assert f"`{value}`" in sticky.body
    [reply] = replies(fake_github, body)
    assert reply.startswith(f"@writer `{body}` ran at `{head[:12]}`")
    assert fake_github.token not in output + reply


# ---- the workflow -------------------------------------------------------------------------


def load_workflow() -> dict:
    workflow = yaml.safe_load(CHATOPS.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def test_no_run_step_interpolates_the_comment_or_any_event_text():
    """`${{ github.event.comment.body }}` inside `run:` is pasted into the script before bash
    reads it: a comment could then run commands. Only `env:` may carry it."""
    job = load_workflow()["jobs"]["chatops"]
    runs = [s["run"] for s in job["steps"] if "run" in s]
    carried = [s for s in job["steps"] if "github.event.comment.body" in str(s.get("env", {}))]

    assert runs and all("${{" not in run for run in runs), runs
    assert all(
        s["env"]["MLOPS_ASSETS_COMMENT_BODY"] == "${{ github.event.comment.body }}" for s in carried
    )
    assert len(carried) == 2


def test_the_workflow_triggers_on_new_comments_with_least_privilege_and_gates_first():
    workflow = load_workflow()
    job = workflow["jobs"]["chatops"]

    assert workflow["on"] == {"issue_comment": {"types": ["created"]}}
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "checks": "write",
    }
    names = [s.get("id") or s.get("uses", "").split("@")[0] for s in job["steps"]]
    gate = names.index("gate")
    checkouts = [i for i, n in enumerate(names) if n == "actions/checkout"]
    # The pull request's code is checked out only after the default branch's gate passed,
    # at the SHA the gate pinned.
    assert checkouts[0] < gate < checkouts[1]
    assert job["steps"][checkouts[1]]["with"]["ref"] == "${{ steps.gate.outputs.sha }}"
    assert "--gate-only" in job["steps"][gate]["run"]
    assert job["steps"][checkouts[1] + 1]["uses"] == "./.github/actions/setup"


@pytest.mark.parametrize(
    ("issue", "body", "runs"),
    [
        ({"number": 1, "pull_request": {"url": "u"}}, "/retrain", True),
        ({"number": 1, "pull_request": {"url": "u"}}, "thanks! /retrain later", False),
        ({"number": 1}, "/retrain", False),  # an issue, not a pull request
    ],
)
def test_the_job_runs_only_for_commands_on_pull_requests(issue, body, runs):
    condition = load_workflow()["jobs"]["chatops"]["if"]
    contexts = {"github": {"event": {"issue": issue, "comment": {"body": body}}}}

    assert bool(evaluate(condition, contexts)) is runs


def played_comment(tmp_path: Path, body: str, user: str):
    """The chatops workflow played for `body`, on a PR whose head has fast parameters."""
    source, head = None, None
    github = FakeGitHub(repository="octo/model").start()
    source = project_repository(tmp_path / "origin")
    main = source.head()
    source.git("checkout", "--quiet", "-b", "tune")
    head = source.commit({"params.yaml": FAST_PARAMS}, "fast training")
    source.git("checkout", "--quiet", "main")
    github.add_pull(NUMBER, head, head_ref="tune")
    github.set_permission("writer", "write")
    github.set_permission("reader", "read")
    payload = comment_payload(github, body, user)
    event = Event(name="issue_comment", sha=main, ref="refs/heads/main", payload=payload)
    player = WorkflowPlayer(
        CHATOPS,
        source.path,
        cache_dir=tmp_path / "actions_cache",
        tool_dir=tmp_path / "tool_cache",
        api_url=github.url,
        secrets={"GITHUB_TOKEN": github.token},
    )
    try:
        played = player.play("chatops", event, tmp_path / "play")
    finally:
        github.stop()
    return played, github, head, payload


@pytest.mark.pipeline
def test_a_shell_payload_played_through_the_workflow_is_refused_and_nothing_runs(tmp_path):
    body = "/sweep train.learning_rate=$(touch x)"

    played, github, _, _ = played_comment(tmp_path, body, "writer")

    outcomes = {s.name: s.outcome for s in played.steps}
    assert outcomes["Gate (permission, fork, grammar) and pin the head SHA"] == "failure"
    assert outcomes["Run the command at the pinned SHA, update the report, reply"] == "skipped"
    assert not (played.workspace / "x").exists() and not list(tmp_path.rglob("x"))
    [reply] = replies(github, body)
    assert "`train.learning_rate`: `$(touch` is not a number" in reply
    assert github.token not in played.failure_log()


@pytest.mark.pipeline
@pytest.mark.slow(reason="two installs and a training run, as the workflow does them")
def test_retrain_played_through_the_workflow_runs_the_pinned_head(tmp_path):
    played, github, head, payload = played_comment(tmp_path, "/retrain", "writer")

    assert played.succeeded, played.failure_log()
    workspace = played.workspace
    assert (workspace / "params.yaml").read_text() == FAST_PARAMS  # the PR's head ran
    [sticky] = [
        c
        for c in github.comments_on("issue", NUMBER)
        if c.body.startswith(sticky_marker("retrain"))
    ]
    assert f"`{head[:7]}`" in sticky.body
    [reply] = replies(github, "/retrain")
    assert reply.startswith(f"@writer `/retrain` ran at `{head[:12]}`: finished")
    assert github.reactions_on(payload["comment"]["id"]) == ["eyes"]
    assert github.token not in played.failure_log() + reply


def test_what_the_command_prints_hides_the_tracking_credentials_as_well_as_the_token(capsys):
    from mlops_assets.chatops_command import SECRET_VARS, _Session

    env = dict.fromkeys(SECRET_VARS, "") | {"MLFLOW_TRACKING_PASSWORD": "hunter2"}
    session = _Session("ghs_token", *(env.get(name) for name in SECRET_VARS))
    session.say("https://user:hunter2@mlflow.example ghs_token done")

    assert capsys.readouterr().out == "https://user:***@mlflow.example *** done\n"
