"""The GitHub calls of a ChatOps command, through PyGithub (``client.github_client``): the
commenter's permission, the pull request's head, the 👀 reaction, the reply, and what the run
left (the report's link, the gate's check run). ``repo`` is a PyGithub ``Repository``."""

from mlops_assets.github.chatops import PullHead
from mlops_assets.github.check_run import CHECK_NAME
from mlops_assets.github.sticky_comment import is_report
from mlops_assets.report.comment import sticky_marker


def permission(repo, user: str) -> str:
    """``GET /repos/{owner}/{repo}/collaborators/{user}/permission``: admin, write, read or
    none (maintain reads as write there); a user GitHub does not know has none."""
    from github import GithubException

    try:
        return repo.get_collaborator_permission(user)
    except GithubException as error:
        if error.status == 404:
            return "none"
        raise


def pull_head(repo, number: int) -> PullHead:
    """The pull request as it is now: its head commit is the one a command runs."""
    pull = repo.get_pull(number)
    head_repo = pull.head.repo
    return PullHead(
        number=number,
        state=pull.state,
        sha=pull.head.sha,
        head_ref=pull.head.ref,
        base_ref=pull.base.ref,
        head_repository=head_repo.full_name if head_repo is not None else None,
        base_repository=pull.base.repo.full_name,
    )


def react_eyes(repo, number: int, comment_id: int) -> None:
    """👀 on the command's comment: seen, and being handled (GitHub keeps one per user)."""
    repo.get_issue(number).get_comment(comment_id).create_reaction("eyes")


def reply(repo, number: int, body: str) -> str:
    """A new comment on the pull request; its URL."""
    return repo.get_issue(number).create_comment(body).html_url


def report_url(repo, number: int, key: str) -> str | None:
    """The sticky report named ``key`` on the pull request, if there is one."""
    marker = sticky_marker(key)
    for comment in repo.get_issue(number).get_comments():
        if is_report(comment.body, marker):
            return comment.html_url
    return None


def gate_conclusion(repo, sha: str, run_url: str | None) -> str | None:
    """The conclusion (success or failure) of the model-gate check run that this workflow run
    (``run_url``, its details link) posted on ``sha``; None when it ended before a verdict. An
    earlier run's check on the same commit is not this command's verdict."""
    for run in repo.get_commit(sha).get_check_runs(check_name=CHECK_NAME):  # newest first
        if run_url is None or run.details_url == run_url:
            return run.conclusion
        return None
    return None
