"""Publishing the report through real PyGithub to the fake GitHub REST server on loopback."""

import os
import re
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, EnvVar, asset, materialize

from mlops_assets.defs.assets.pr_comment import pr_comment
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.github import GitHubResource
from mlops_assets.github.context import CIContext, ThreadError
from mlops_assets.github.publish import publish_report
from mlops_assets.github.retry import GitHubPublishError
from mlops_assets.promotion import NOT_REGISTERED
from mlops_assets.records import MetricsReport, Registration
from mlops_assets.settings import COMMENT_ON
from mlops_assets_tests.support.fake_github import FakeGitHub
from mlops_assets_tests.support.github_actions import HEAD, pr_event
from mlops_assets_tests.support.reports import sample_report

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
MARKER_LINE = "<!-- mlops-assets sticky: retrain -->"
MARKER = f"<!-- mlops-assets report -->\n{MARKER_LINE}\n"


def make_report(tmp_path: Path, mae: float = 41.0, **overrides) -> MetricsReport:
    plots = tmp_path / "plots"
    plots.mkdir(exist_ok=True)
    (plots / "learning_curve.png").write_bytes(PNG)
    fields = {
        "directory": str(tmp_path),
        "history": {"loss": [9.0, 5.0, 3.0], "val_loss": [9.5, 6.0, 4.0]},
        "params": {"epochs": 3},
        "plots": {"learning_curve": str(plots / "learning_curve.png")},
    }
    return sample_report(mae, **{**fields, **overrides})


class Logs:
    def __init__(self):
        self.info: list[str] = []
        self.warnings: list[str] = []


def publish(tmp_path, report=None, logs=None, tagged_pr=None, **settings):
    logs = logs or Logs()
    github = GitHubResource.from_env(
        token=os.environ.get("GITHUB_TOKEN"),  # a literal: EnvVar resolves only in a run
        seconds_between_writes=0,
        retry_budget_seconds=10,
        **settings,
    )
    ci = CIContext.from_env(os.environ)
    return publish_report(
        report or make_report(tmp_path),
        github.publish_settings(ci),
        ci,
        local_path=tmp_path / "artifacts" / "pr_comment.md",
        log=logs.info.append,
        warn=logs.warnings.append,
        tagged_pr=tagged_pr,
    )


def test_three_runs_leave_exactly_one_comment_edited_in_place(fake_github, actions, tmp_path):
    fake_github.add_pull(7, HEAD)
    quoted = f"> <!-- mlops-assets report -->\n> {MARKER_LINE}\n\nwhy is mae worse?"
    other = f"<!-- mlops-assets report -->\n{MARKER_LINE.replace('retrain', 'nightly')}"
    fake_github.add_comments("issue", 7, ["LGTM", quoted, other])
    actions(event_name="pull_request", payload=pr_event(7), sha="f" * 40)

    first = publish(tmp_path, make_report(tmp_path, mae=44.0))
    second = publish(tmp_path, make_report(tmp_path, mae=42.0))
    third = publish(tmp_path, make_report(tmp_path, mae=41.0))

    ours = [c for c in fake_github.comments_on("issue", 7) if c.body.startswith(MARKER)]
    assert len(ours) == 1 and len(fake_github.comments_on("issue", 7)) == 4
    assert fake_github.comments_on("issue", 7)[1].body == quoted
    assert "| **mae** | ↓ lower | 41 |" in ours[0].body
    assert (first.created, second.created, third.created) == (True, False, False)
    assert third.url.endswith(f"/pull/7#issuecomment-{ours[0].id}")
    assert len(fake_github.calls("POST", "/comments$")) == 1
    assert len(fake_github.calls("PATCH", "/issues/comments/")) == 2
    assert third.destination == "pull request #7" and third.reason == "pull_request event"
    # the report is about the PR head, not the merge commit GitHub Actions checks out
    assert f"commit/{HEAD}" in ours[0].body and "f" * 40 not in ours[0].body


def test_push_finds_the_open_pull_request_whose_head_is_the_commit(fake_github, actions, tmp_path):
    fake_github.add_pull(3, HEAD, state="closed")
    fake_github.add_pull(9, HEAD)
    fake_github.add_pull(11, "b" * 40)
    actions(event_name="push", sha=HEAD)

    result = publish(tmp_path)

    assert result.destination == "pull request #9"
    assert len(fake_github.comments_on("issue", 9)) == 1
    assert not fake_github.comments_on("issue", 3) and not fake_github.comments_on("commit", HEAD)
    assert fake_github.calls("GET", f"/commits/{HEAD}/pulls$")


def test_a_run_tagged_with_a_pull_request_comments_there(fake_github, actions, tmp_path):
    """Runs the GitHub-mode sensor requests carry the PR number; the push event does not."""
    fake_github.add_pull(12, "b" * 40)
    actions(event_name="push", sha=HEAD)

    result = publish(tmp_path, tagged_pr="12")

    assert result.destination == "pull request #12"
    assert result.reason == "run tagged with pull request #12"
    assert len(fake_github.comments_on("issue", 12)) == 1
    assert not fake_github.calls("GET", f"/commits/{HEAD}/pulls$")


def test_push_without_a_pull_request_comments_on_the_commit_and_keeps_it_sticky(
    fake_github, actions, tmp_path
):
    actions(event_name="push", sha=HEAD)

    publish(tmp_path, make_report(tmp_path, mae=45.0))
    result = publish(tmp_path, make_report(tmp_path, mae=40.0))

    [comment] = fake_github.comments_on("commit", HEAD)
    assert "| **mae** | ↓ lower | 40 |" in comment.body
    assert result.destination == f"commit {HEAD[:12]}" and "no open pull request" in result.reason
    assert len(fake_github.calls("PATCH", r"^/repos/[^/]+/[^/]+/comments/\d+$")) == 1


@pytest.mark.parametrize(
    ("target", "kind", "id"),
    [
        ("pr/5", "issue", "5"),
        ("issue/12", "issue", "12"),
        (f"commit/{'e' * 40}", "commit", "e" * 40),
    ],
)
def test_a_forced_target_overrides_the_event(fake_github, actions, tmp_path, target, kind, id):
    fake_github.add_pull(5, "1" * 40)
    fake_github.add_issue(12)
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))

    result = publish(tmp_path, comment_on=target)

    assert len(fake_github.comments_on(kind, id)) == 1
    assert not fake_github.comments_on("issue", 7)
    assert result.reason == f"comment_on is {target}"


def test_the_pull_request_number_can_come_from_github_ref(
    fake_github, actions, tmp_path, monkeypatch
):
    fake_github.add_pull(8, HEAD)
    actions(event_name="pull_request", payload={})
    monkeypatch.setenv("GITHUB_REF", "refs/pull/8/merge")

    assert publish(tmp_path).destination == "pull request #8"
    assert len(fake_github.comments_on("issue", 8)) == 1


def test_the_target_can_be_set_by_environment(fake_github, actions, tmp_path, monkeypatch):
    actions(event_name="pull_request", payload=pr_event(7))
    monkeypatch.setenv(COMMENT_ON, "local")

    result = publish(tmp_path)

    assert result.destination == "local file" and result.reason == "comment_on is 'local'"
    assert fake_github.requests == []


def test_all_pages_are_searched_for_the_marker(fake_github, actions, tmp_path):
    bodies = [f"comment {i}" for i in range(250)]
    bodies[231] = f"<!-- mlops-assets report -->\n{MARKER_LINE}\nold report"
    fake_github.add_pull(4, HEAD)
    fake_github.add_comments("issue", 4, bodies)
    actions(event_name="pull_request", payload=pr_event(4))

    result = publish(tmp_path)

    assert result.created is False
    comments = fake_github.comments_on("issue", 4)
    assert len(comments) == 250 and "old report" not in comments[231].body
    pages = [r.query.get("page", "1") for r in fake_github.calls("GET", "/issues/4/comments")]
    assert pages == ["1", "2", "3"]
    assert all(r.query["per_page"] == "100" for r in fake_github.calls("GET", "/comments"))


def test_enterprise_api_prefix(actions, tmp_path):
    with FakeGitHub(prefix="/api/v3") as enterprise:
        enterprise.add_pull(2, HEAD)
        env = actions(enterprise, event_name="pull_request", payload=pr_event(2))
        assert env["GITHUB_API_URL"].endswith("/api/v3")

        result = publish(tmp_path)

        assert len(enterprise.comments_on("issue", 2)) == 1
        assert result.created is True
        assert enterprise.requests and all(r.status < 400 for r in enterprise.requests)


def test_502_is_retried_and_the_comment_stays_single(fake_github, actions, tmp_path):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))
    fake_github.fail(502, method="GET", path="/comments$")
    fake_github.fail(502, method="POST", path="/comments$")
    logs = Logs()

    publish(tmp_path, logs=logs)

    assert len(fake_github.comments_on("issue", 7)) == 1
    assert [r.status for r in fake_github.calls("POST", "/comments$")] == [502, 201]
    assert sum("answered 502; retrying" in w for w in logs.warnings) == 2


def test_429_waits_as_long_as_retry_after_says(fake_github, actions, tmp_path):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))
    fake_github.fail(429, method="POST", headers={"Retry-After": "2"})
    logs = Logs()

    started = time.monotonic()
    publish(tmp_path, logs=logs)

    assert time.monotonic() - started >= 2
    assert len(fake_github.comments_on("issue", 7)) == 1
    assert logs.warnings == [
        "commenting on pull request #7: GitHub answered 429; retrying in 2.0 s"
    ]


def test_retry_after_beyond_the_budget_gives_up_fast_and_keeps_the_body(
    fake_github, actions, tmp_path
):
    fake_github.add_pull(7, HEAD)
    env = actions(event_name="pull_request", payload=pr_event(7))
    fake_github.fail(
        403,
        method="POST",
        headers={"Retry-After": "3600"},
        times=None,
        message="You have exceeded a secondary rate limit.",
    )

    started = time.monotonic()
    logs = Logs()
    result = publish(tmp_path, logs=logs)  # the run's results stand: only the comment waits

    assert time.monotonic() - started < 5
    assert result.destination == "local file" and result.url is None
    assert re.search(r"^not posted: .*asked to wait 3600 s.*retry_budget_seconds", result.reason)
    assert logs.warnings == [result.reason]
    assert not fake_github.comments_on("issue", 7)
    body = (tmp_path / "artifacts" / "pr_comment.md").read_text()
    assert MARKER_LINE in body and Path(env["GITHUB_STEP_SUMMARY"]).read_text() == body


def test_403_names_the_missing_permission_and_never_the_token(fake_github, actions, tmp_path):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))
    fake_github.fail(403, method="POST", times=None)

    with pytest.raises(GitHubPublishError) as error:
        publish(tmp_path)

    message = str(error.value)
    assert "403: Resource not accessible by integration" in message
    assert "`pull-requests: write`" in message
    assert fake_github.token not in message


def test_401_says_the_token_is_rejected(fake_github, actions, tmp_path):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7), token="ghs_wrongToken")

    with pytest.raises(GitHubPublishError, match=r"rejected the token.*401: Bad credentials"):
        publish(tmp_path)


def test_commit_comment_403_names_contents_write(fake_github, actions, tmp_path):
    actions(event_name="push", sha=HEAD)
    fake_github.fail(403, method="POST", path="/comments$", times=None)

    with pytest.raises(GitHubPublishError, match="`contents: write`"):
        publish(tmp_path)


def test_branch_publisher_commits_plots_and_embeds_pinned_urls(fake_github, actions, tmp_path):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))

    publish(tmp_path, plots="branch")
    first_tip = fake_github.state.refs["heads/mlops-assets-plots"]
    publish(tmp_path, plots="branch", report=make_report(tmp_path, mlflow_run_id="run2"))

    tip = fake_github.state.refs["heads/mlops-assets-plots"]
    assert fake_github.state.commits[tip]["parents"] == [first_tip]
    assert (
        fake_github.file_on_branch("mlops-assets-plots", f"{HEAD[:12]}/learning_curve.png") == PNG
    )
    [comment] = fake_github.comments_on("issue", 7)
    blob = f"{fake_github.server_url}/{fake_github.repository}/blob"
    url = f"{blob}/{tip}/{HEAD[:12]}/learning_curve.png?raw=true"
    assert f"![learning curve]({url})" in comment.body
    assert "data:" not in comment.body


def test_branch_publisher_without_contents_write_still_posts_the_report(
    fake_github, actions, tmp_path
):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))
    fake_github.fail(403, method="POST", path="/git/", times=None)
    logs = Logs()

    publish(tmp_path, plots="branch", logs=logs)

    [comment] = fake_github.comments_on("issue", 7)
    assert "Plots not published" in comment.body and "`contents: write`" in comment.body
    assert any("`contents: write`" in w for w in logs.warnings)


def test_without_a_token_the_report_goes_to_the_step_summary_and_a_file(
    fake_github, actions, tmp_path
):
    env = actions(event_name="pull_request", payload=pr_event(7))
    os.environ.pop("GITHUB_TOKEN")
    logs = Logs()

    result = publish(tmp_path, logs=logs)

    assert result.destination == "local file" and "GITHUB_TOKEN unset" in result.reason
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert MARKER_LINE in summary and "| **mae** |" in summary
    local = (tmp_path / "artifacts" / "pr_comment.md").read_text()
    assert local == result.body and "![learning curve](../plots/learning_curve.png)" in local
    assert fake_github.requests == []
    assert "not posting to GitHub" in logs.info[0] and "GITHUB_TOKEN unset" in logs.info[0]


def test_a_pull_request_from_a_fork_goes_to_the_step_summary(fake_github, actions, tmp_path):
    payload = pr_event(7)
    payload["pull_request"]["head"]["repo"] = {"full_name": "someone/retrain"}
    payload["pull_request"]["base"] = {"repo": {"full_name": fake_github.repository}}
    env = actions(event_name="pull_request", payload=payload)

    result = publish(tmp_path)

    assert result.destination == "local file" and "fork" in result.reason
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text() == result.body
    assert fake_github.requests == []


def test_a_posted_report_also_goes_to_the_step_summary(fake_github, actions, tmp_path):
    fake_github.add_pull(7, HEAD)
    env = actions(event_name="pull_request", payload=pr_event(7))

    publish(tmp_path)

    [comment] = fake_github.comments_on("issue", 7)
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text() == comment.body


def test_a_bad_target_setting_is_named(fake_github, actions, tmp_path):
    actions(event_name="push")

    with pytest.raises(ThreadError, match="comment_on 'pr/abc' is not one of"):
        publish(tmp_path, comment_on="pr/abc")
    assert fake_github.requests == []


@pytest.mark.pipeline
def test_the_asset_posts_and_the_token_never_reaches_the_event_log(
    fake_github, actions, tmp_path, monkeypatch
):
    """The real pr_comment asset in a Dagster run, with a retried 502 and a refused branch."""
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("RETRAIN_BOT_TOKEN", fake_github.token)
    fake_github.fail(502, method="POST", path="/comments$")
    fake_github.fail(403, method="POST", path="/git/blobs")
    report = make_report(tmp_path)

    @asset(name="metrics_report")
    def fixed_report() -> MetricsReport:
        return report

    @asset(name="model_version")
    def not_registered() -> Registration:
        return Registration("mlops-assets", NOT_REGISTERED, "a test of the comment alone")

    instance = DagsterInstance.ephemeral()
    result = materialize(
        [fixed_report, not_registered, pr_comment],
        instance=instance,
        resources={
            "artifacts": ArtifactStore(root=str(tmp_path / "artifacts")),
            "github": GitHubResource.from_env(
                token=EnvVar("RETRAIN_BOT_TOKEN"), seconds_between_writes=0, plots="branch"
            ),
        },
    )

    [materialization] = result.asset_materializations_for_node("pr_comment")
    metadata = materialization.metadata
    assert metadata["posted_to"].value == "pull request #7"
    assert metadata["url"].value.endswith(
        f"#issuecomment-{fake_github.comments_on('issue', 7)[0].id}"
    )
    log_text = "\n".join(str(entry) for entry in instance.all_logs(result.run_id))
    assert "answered 502; retrying" in log_text and "posting the report without plots" in log_text
    assert fake_github.token not in log_text
    [comment] = fake_github.comments_on("issue", 7)
    assert fake_github.token not in comment.body
    assert re.search(r" · took \d+ s\n", comment.body)
    assert metadata["body"].value == comment.body


def test_the_gate_becomes_a_check_run_and_without_checks_write_the_comment_still_posts(
    fake_github, actions, tmp_path
):
    fake_github.add_pull(7, HEAD)
    actions(event_name="pull_request", payload=pr_event(7))

    refused = publish(tmp_path, report=make_report(tmp_path, gate_passed=False, gate_reasons=["x"]))

    [run] = fake_github.check_runs(HEAD)
    assert (run.name, run.conclusion) == ("mlops-assets / model gate", "failure")
    assert refused.check_run_url and "gate failed" in run.output["title"]

    fake_github.fail(403, method="POST", path="/check-runs$")
    logs = Logs()
    posted = publish(tmp_path, logs=logs)

    assert posted.url and posted.check_run_url is None
    assert any("no check run" in w and "checks: write" in w for w in logs.warnings)
    assert len(fake_github.check_runs(HEAD)) == 1
