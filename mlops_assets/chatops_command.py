"""``mlops-assets chatops``: a ``/retrain`` or ``/sweep`` comment on a pull request, handled from
the ``issue_comment`` event in ``GITHUB_EVENT_PATH``, with the safety in the command itself.

In order: parse the comment (``github/chatops.py``; a refusal runs nothing), react 👀, ask the
API for the commenter's permission, fetch the pull request, refuse forks, and pin its head SHA.
``--gate-only`` stops there and writes ``sha=<pinned>`` to ``GITHUB_OUTPUT``: the workflow runs
that from the default branch's code, before any of the pull request's code is checked out.
Otherwise the checkout must be at the pinned SHA; ``mlops-assets run --force [--sweep ...]``
runs as a subprocess from an argv list (never a shell), and one reply says how it went.

Exit codes: 0 done (or not a command: nothing to do), 1 the run or GitHub failed, 2 refused
or misused, said in one line. The token is redacted from everything printed.
"""

import argparse
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

from mlops_assets import settings
from mlops_assets.git.commands import git_or_none
from mlops_assets.github import chatops_api as api
from mlops_assets.github.chatops import (
    Command,
    CommentEvent,
    Refusal,
    is_command,
    parse_command,
    permission_refusal,
    pull_refusal,
    refusal_reply,
    result_reply,
    run_environment,
)
from mlops_assets.github.client import github_client
from mlops_assets.github.context import CIContext, ThreadError
from mlops_assets.redaction import redact_secret
from mlops_assets.tracking.location import PASSWORD_VAR, TOKEN_VAR

DEFAULT_REPORT_KEY = "retrain"  # the sticky report the retrain workflow keeps on each PR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gate-only",
        action="store_true",
        help="check the comment and pin the PR's head SHA (GITHUB_OUTPUT: sha=...); run nothing",
    )
    parser.add_argument(
        "--sha", default="", help="the head SHA the gate pinned; the checkout must be at it"
    )
    parser.add_argument("--config-json", default="", help="Dagster run config for the run")
    parser.add_argument(
        "--report-key",
        default=DEFAULT_REPORT_KEY,
        help="the sticky report the run updates (the retrain workflow's: retrain)",
    )


# Besides the GitHub token: the tracking server's credentials the run is given.
SECRET_VARS = (PASSWORD_VAR, TOKEN_VAR, "DAGSHUB_USER_TOKEN")


class _Session:
    """What one invocation prints with: no secret it holds ever leaves in output."""

    def __init__(self, *secrets: str | None):
        self.secrets = [s for s in secrets if s]

    def say(self, text: str, error: bool = False) -> None:
        for secret in self.secrets:
            text = redact_secret(text, secret)
        print(text, file=sys.stderr if error else sys.stdout, flush=True)


def main(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    try:
        access = settings.GitHubAccess.from_env(env)
    except ValueError as error:
        print(f"mlops-assets chatops: {error}", file=sys.stderr)
        return 2
    session = _Session(access.token if access else None, *(env.get(n) for n in SECRET_VARS))
    ci = CIContext.from_env(env)
    if ci.event_name != "issue_comment":
        session.say(
            f"mlops-assets chatops: handles issue_comment events, not "
            f"GITHUB_EVENT_NAME={ci.event_name or '(unset)'}",
            error=True,
        )
        return 2
    if args.sha and not re.fullmatch(r"[0-9a-f]{40}", args.sha):
        session.say(f"mlops-assets chatops: --sha {args.sha!r} is not a commit SHA", error=True)
        return 2
    try:
        event = CommentEvent.from_payload(ci.event_payload())
    except (ThreadError, ValueError) as error:
        session.say(f"mlops-assets chatops: {error}", error=True)
        return 2
    if (body := settings.comment_body(env)) is not None:  # the workflow's env: hands it over
        event = dataclasses.replace(event, body=body)
    if not is_command(event.body) or event.action != "created":
        session.say("not a new comment starting with '/': nothing to do")
        return 0
    if access is None:
        session.say("mlops-assets chatops: needs GITHUB_TOKEN and GITHUB_REPOSITORY", error=True)
        return 2

    from github import GithubException

    client = github_client(access)
    try:
        repo = client.get_repo(access.repository, lazy=True)
        return _handle(args, env, session, ci, repo, event, access.repository)
    except GithubException as error:
        message = (error.data or {}).get("message") if isinstance(error.data, dict) else ""
        session.say(
            f"mlops-assets chatops: GitHub answered {error.status} ({message or 'no message'})",
            error=True,
        )
        return 1
    finally:
        client.close()


def _handle(args, env, session: _Session, ci: CIContext, repo, event, repository) -> int:
    api.react_eyes(repo, event.number, event.comment_id)
    try:
        command, pull = _decide(repo, event, repository)
    except Refusal as refusal:
        url = api.reply(repo, event.number, refusal_reply(event.user, event.body, refusal))
        session.say(f"refused {event.user}'s comment: {refusal} (replied: {url})", error=True)
        return 2
    pinned = args.sha or pull.sha
    session.say(f"accepted: `{command}` by @{event.user} on #{event.number} at {pinned}")
    if args.gate_only:
        if output := env.get("GITHUB_OUTPUT"):
            with open(output, "a", encoding="utf-8") as out:
                out.write(f"sha={pinned}\n")
        return 0
    pull = dataclasses.replace(pull, sha=pinned)
    project, problem = _checkout(env, pinned)
    if problem:
        api.reply(repo, event.number, f"@{event.user} `{command}` could not run: {problem}.")
        session.say(f"mlops-assets chatops: {problem}", error=True)
        return 1
    returncode = _run(command, args, env, pull, project, session)
    report = api.report_url(repo, event.number, args.report_key)
    gate = api.gate_conclusion(repo, pinned, ci.run_url)
    body = result_reply(event.user, command, pinned, returncode, gate, report, ci.run_url)
    session.say(f"replied: {api.reply(repo, event.number, body)}")
    return 0 if returncode == 0 else 1


def _checkout(env, pinned: str) -> tuple[Path | None, str | None]:
    """The project directory, and why it cannot run ``pinned`` (None when it is checked out)."""
    try:
        project = settings.project_dir(env)
    except settings.ProjectNotFound as error:
        return None, str(error)
    checked_out = git_or_none(project, "rev-parse", "HEAD")
    if checked_out != pinned:
        return (
            project,
            f"the checkout at {project} is at {checked_out or 'no commit'}, not {pinned}",
        )
    return project, None


def _decide(repo, event: CommentEvent, repository: str):
    """The command and the pull request it runs on, or the ``Refusal`` saying why not; the
    cheap checks of the text first, then the API's answers."""
    if not event.on_pull_request:
        raise Refusal(f"#{event.number} is an issue; commands work on pull requests")
    command = parse_command(event.body)
    if refusal := permission_refusal(event.user, api.permission(repo, event.user), repository):
        raise refusal
    pull = api.pull_head(repo, event.number)
    if refusal := pull_refusal(pull):
        raise refusal
    return command, pull


def run_argv(command: Command, config_json: str) -> list[str]:
    """``mlops-assets run`` for ``command``, as an argv list for this interpreter."""
    argv = [sys.executable, "-m", "mlops_assets", "run", *command.run_args()]
    return argv + (["--config-json", config_json] if config_json.strip() else [])


def _run(command: Command, args, env, pull, project: Path, session: _Session) -> int:
    """The run, its output streamed line by line with the token redacted."""
    argv = run_argv(command, args.config_json)
    session.say(f"running: mlops-assets {' '.join(argv[3:])}")
    with subprocess.Popen(
        argv,
        cwd=project,
        env=run_environment(env, pull, args.report_key),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        for line in process.stdout:
            session.say(line.rstrip("\n"))
        return process.wait()
