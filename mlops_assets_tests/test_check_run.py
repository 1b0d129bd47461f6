"""The model gate's check run, created through real PyGithub on the fake GitHub REST server."""

import pytest

from mlops_assets.github.check_run import (
    CHECK_NAME,
    PERMISSION,
    SUMMARY_LIMIT,
    check_output,
    conclusion,
    post_check_run,
)
from mlops_assets.github.client import github_client
from mlops_assets.github.retry import GitHubPublishError, RetryPolicy, call_with_retries
from mlops_assets.records import Interval, MetricsReport
from mlops_assets.settings import GitHubAccess
from mlops_assets_tests.support.reports import sample_report

HEAD = "c0ffee" + "0" * 34
REFUSAL = "mae 52 vs baseline 43 (run base1; at most 45.15 allowed with tolerance 5%): regressed"


def make_report(mae: float = 41.2, **overrides) -> MetricsReport:
    return sample_report(mae, **{"params": {"train.epochs": "3"}, **overrides})


def refused_report() -> MetricsReport:
    return make_report(52.0, gate_passed=False, gate_reasons=[REFUSAL])


@pytest.fixture
def repo(fake_github):
    access = GitHubAccess(fake_github.token, fake_github.repository, fake_github.url)
    return github_client(access, seconds_between_writes=0).get_repo(access.repository)


def test_a_passing_report_creates_a_completed_successful_check_run(fake_github, repo):
    details = "https://ci.example/octo/retrain/actions/runs/4242"

    url = post_check_run(repo, HEAD, make_report(), details_url=details, external_id="run123")

    [run] = fake_github.check_runs(HEAD)
    assert (run.name, run.status, run.conclusion) == (CHECK_NAME, "completed", "success")
    assert run.output["title"] == "mae 41.2: gate passed"
    assert "**Model gate passed**: mae 41.2" in run.output["summary"]
    assert "Baseline: run `base1`: mae 43." in run.output["summary"]
    assert f"[Full report]({details})" in run.output["summary"]
    assert (run.details_url, run.external_id) == (details, "run123")
    assert url == f"{fake_github.server_url}/{fake_github.repository}/runs/{run.id}"
    [listed] = repo.get_commit(HEAD).get_check_runs(check_name=CHECK_NAME)
    assert (listed.id, listed.conclusion) == (run.id, "success")
    assert listed.output.title == run.output["title"]


def test_a_refused_report_fails_the_check_and_says_why(fake_github, repo):
    post_check_run(repo, HEAD, refused_report())

    [run] = fake_github.check_runs(HEAD)
    assert run.conclusion == "failure"
    assert run.output["title"] == "mae 52: gate failed"
    assert f"- {REFUSAL}" in run.output["summary"]
    assert run.details_url is None  # not sent as null when there is none
    assert "details_url" not in fake_github.calls("POST", "/check-runs$")[0].body


def test_a_rerun_of_the_same_commit_adds_a_run_and_github_shows_the_newest(fake_github, repo):
    post_check_run(repo, HEAD, refused_report())
    post_check_run(repo, HEAD, make_report())

    assert [r.conclusion for r in fake_github.check_runs(HEAD)] == ["failure", "success"]
    [latest] = repo.get_commit(HEAD).get_check_runs()
    assert latest.conclusion == "success"


def test_without_checks_write_the_error_names_the_permission(fake_github, repo):
    fake_github.fail(403, method="POST", path="/check-runs$", times=None)

    with pytest.raises(GitHubPublishError) as error:
        call_with_retries(
            lambda: post_check_run(repo, HEAD, make_report()),
            action=f"creating the check run on {HEAD[:12]}",
            permission=PERMISSION,
            policy=RetryPolicy(budget_seconds=5),
        )

    message = str(error.value)
    assert "403: Resource not accessible by integration" in message
    assert "`checks: write`" in message and fake_github.token not in message
    assert fake_github.check_runs(HEAD) == []


def test_neutral_only_when_the_caller_has_no_verdict():
    assert conclusion(make_report()) == "success"
    assert conclusion(refused_report()) == "failure"
    assert conclusion(make_report(baseline=None)) == "success"  # the naive comparison decides
    assert conclusion(refused_report(), decided=False) == "neutral"
    assert check_output(make_report(), decided=False)["title"] == "mae 41.2: gate undecided"


def test_the_summary_names_a_missing_baseline_and_the_interval():
    report = make_report(
        baseline=None,
        baseline_note="no run on main yet",
        interval=Interval(38.0, 44.5),
    )

    summary = check_output(report)["summary"]

    assert "Baseline: none (no run on main yet)." in summary
    assert "Noise: mae 95% interval 38 to 44.5." in summary


def test_a_huge_refusal_stays_under_the_summary_limit(fake_github, repo):
    reasons = [f"reason {i}: " + "x" * 10_000 for i in range(2_000)]

    post_check_run(repo, HEAD, make_report(gate_passed=False, gate_reasons=reasons))

    [run] = fake_github.check_runs(HEAD)
    assert len(run.output["summary"]) <= SUMMARY_LIMIT
    assert "- … and 1950 more" in run.output["summary"]


def test_chatops_reads_only_its_own_runs_gate_verdict(repo):
    """A /retrain that ends before its verdict must not quote the verdict an earlier workflow
    run posted on the same commit."""
    from mlops_assets.github.chatops_api import gate_conclusion

    earlier, this = "https://github.example/runs/1", "https://github.example/runs/2"
    post_check_run(repo, HEAD, refused_report(), details_url=earlier)

    assert gate_conclusion(repo, HEAD, this) is None
    assert gate_conclusion(repo, HEAD, None) == "failure"  # outside Actions: the newest
    post_check_run(repo, HEAD, make_report(), details_url=this)
    assert gate_conclusion(repo, HEAD, this) == "success"
