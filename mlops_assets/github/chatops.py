"""ChatOps from a pull-request comment: the strict grammar of ``/retrain`` and ``/sweep`` and the
rules that decide whether a comment may run anything. Pure: text and API answers in, a
``Command`` or a ``Refusal`` out.

A comment's text comes from anyone who can comment. It is matched here, token by token, against
known parameter names and literal numbers, and then rebuilt from the parsed values: no shell,
``eval`` or YAML loader ever sees it, and what reaches ``mlops-assets run`` is our own text.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from typing import Annotated

from pydantic import TypeAdapter, ValidationError

from mlops_assets.params import TrainParams
from mlops_assets.settings import COMMENT_ON
from mlops_assets.sweeps import FIXED, MAX_TRIALS

# What `GET /repos/{owner}/{repo}/collaborators/{user}/permission` answers, that may run a
# command. `author_association` is not asked: it shows private organisation members as
# CONTRIBUTOR (actions/github-script#643), and it says nothing about write access.
ALLOWED_PERMISSIONS = frozenset({"admin", "maintain", "write"})
COMMANDS = ("/retrain", "/sweep")
MAX_BODY_CHARS = 500

_NAME = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+"
_ASSIGNMENT = re.compile(rf"(?P<name>{_NAME})=(?P<values>[^,\s=]+(?:,[^,\s=]+)*)")
_INTEGER = re.compile(r"-?[0-9]{1,9}")
_NUMBER = re.compile(r"-?(?:[0-9]{1,9}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})(?:[eE][-+]?[0-9]{1,3})?")

Value = int | float


class Refusal(ValueError):
    """Why a comment runs nothing, said to its author in the reply."""


@dataclass(frozen=True)
class Command:
    """A parsed command: ``retrain``, or ``sweep`` with its grid (parameter, values) in the
    comment's order."""

    name: str
    grid: tuple[tuple[str, tuple[Value, ...]], ...] = ()

    @property
    def trials(self) -> int:
        return prod(len(values) for _, values in self.grid) if self.grid else 1

    def run_args(self) -> list[str]:
        """``mlops-assets run``'s arguments: always a forced run (the command asks for one
        whatever changed), and one ``--sweep name=v1,v2`` per parameter, in our spelling."""
        args = ["--force"]
        for name, values in self.grid:
            args += ["--sweep", f"{name}={','.join(_literal(v) for v in values)}"]
        return args

    def __str__(self) -> str:
        grid = " ".join(f"{n}={','.join(_literal(v) for v in vs)}" for n, vs in self.grid)
        return f"/{self.name}" + (f" {grid}" if grid else "")


def _literal(value: Value) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def sweepable_parameters() -> dict[str, type]:
    """The ``train.*`` parameters a comment may set: those that are one number. Names of code
    (``train.model``) and data stay in ``params.yaml``, reviewed like any change."""
    found = {}
    for key, field in TrainParams.model_fields.items():
        if field.annotation in (int, float) and key not in FIXED:
            found[f"train.{key}"] = field.annotation
    return found


def _validator(name: str) -> TypeAdapter:
    field = TrainParams.model_fields[name.removeprefix("train.")]
    return TypeAdapter(Annotated[(field.annotation, *field.metadata)])


def shown(text: str, limit: int = 40) -> str:
    """A piece of the comment, safe to quote in a code span of the reply."""
    cleaned = "".join(c for c in text if c.isprintable() and c != "`")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def is_command(body: str) -> bool:
    """Whether a comment is addressed to us at all (the workflow's ``if:`` says the same)."""
    return body.lstrip().startswith("/")


def parse_command(body: str, known: Mapping[str, type] | None = None) -> Command:
    """``body`` as a ``Command``, or a ``Refusal`` naming what is wrong. One line; words split
    on whitespace; each ``/sweep`` argument is ``name=v1,v2,...`` with literal numbers."""
    known = sweepable_parameters() if known is None else known
    text = body.strip()
    if len(text) > MAX_BODY_CHARS:
        raise Refusal(f"the comment is longer than {MAX_BODY_CHARS} characters")
    if "\n" in text or "\r" in text:
        raise Refusal("a command is one line, with nothing after it")
    words = text.split()
    if not words or words[0] not in COMMANDS:
        first = words[0] if words else ""
        raise Refusal(f"`{shown(first)}` is not a command (known: {', '.join(COMMANDS)})")
    if words[0] == "/retrain":
        if len(words) > 1:
            raise Refusal("`/retrain` takes no arguments")
        return Command("retrain")
    if len(words) == 1:
        raise Refusal("`/sweep` needs at least one `<parameter>=<v1>,<v2>`")
    grid = []
    for word in words[1:]:
        grid.append(_assignment(word, known))
    names = [name for name, _ in grid]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise Refusal(f"`{twice}` is given twice")
    command = Command("sweep", tuple(grid))
    if command.trials > MAX_TRIALS:
        raise Refusal(f"{command.trials} trials; at most {MAX_TRIALS}")
    return command


def _assignment(word: str, known: Mapping[str, type]) -> tuple[str, tuple[Value, ...]]:
    match = _ASSIGNMENT.fullmatch(word)
    if not match:
        raise Refusal(
            f"`{shown(word)}` is not `<parameter>=<v1>,<v2>`: a parameter name, `=`, and "
            "numbers separated by commas, without spaces"
        )
    name = match["name"]
    if name not in known:
        raise Refusal(f"unknown parameter `{name}` (a comment may set: {', '.join(sorted(known))})")
    kind = known[name]
    values = []
    for text in match["values"].split(","):
        pattern = _INTEGER if kind is int else _NUMBER
        if not pattern.fullmatch(text):
            expected = "a whole number" if kind is int else "a number"
            raise Refusal(f"`{name}`: `{shown(text)}` is not {expected}")
        value = int(text) if kind is int else float(text)
        try:
            values.append(_validator(name).validate_python(value))
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise Refusal(f"`{name}`: {_literal(value)} is not valid: {problem}") from None
    if len(set(values)) != len(values):
        raise Refusal(f"`{name}`: a value is repeated")
    return name, tuple(values)


@dataclass(frozen=True)
class CommentEvent:
    """The fields of an ``issue_comment`` webhook payload the command uses."""

    action: str
    number: int
    on_pull_request: bool
    comment_id: int
    body: str
    user: str

    @classmethod
    def from_payload(cls, payload: Mapping) -> "CommentEvent":
        issue, comment = payload.get("issue") or {}, payload.get("comment") or {}
        if not issue.get("number") or not comment.get("id"):
            raise ValueError("the event is not an issue_comment: no issue.number or comment.id")
        return cls(
            action=str(payload.get("action", "")),
            number=int(issue["number"]),
            on_pull_request=bool(issue.get("pull_request")),
            comment_id=int(comment["id"]),
            body=str(comment.get("body") or ""),
            user=str((comment.get("user") or {}).get("login", "")),
        )


def permission_refusal(user: str, permission: str, repository: str) -> Refusal | None:
    """None when ``permission`` (the API's answer for ``user``) may run commands."""
    if permission in ALLOWED_PERMISSIONS:
        return None
    return Refusal(
        f"@{user} has {permission or 'no'} permission on {repository}; commands need write, "
        "maintain or admin"
    )


@dataclass(frozen=True)
class PullHead:
    """A pull request as the API described it when the command arrived."""

    number: int
    state: str
    sha: str
    head_ref: str
    base_ref: str
    head_repository: str | None  # None: the fork was deleted
    base_repository: str


def pull_refusal(pull: PullHead) -> Refusal | None:
    """None when the pull request may run: open, and its head in the base repository. A fork's
    code must never run with this repository's secrets (a "pwn request")."""
    if pull.state != "open":
        return Refusal(f"pull request #{pull.number} is {pull.state}")
    if pull.head_repository != pull.base_repository:
        source = pull.head_repository or "a deleted repository"
        return Refusal(
            f"pull request #{pull.number} comes from a fork ({source}); commands run only on "
            f"branches of {pull.base_repository}"
        )
    return None


def run_environment(env: Mapping[str, str], pull: PullHead, report_key: str) -> dict[str, str]:
    """The environment of the run a command starts: what a ``pull_request`` run of the PR's
    head would see (its number, head and base branches, head commit), and the PR's sticky
    report as the place to post, so the command updates the comment reviewers already read."""
    return {
        **env,
        "GITHUB_SHA": pull.sha,
        "GITHUB_REF": f"refs/pull/{pull.number}/merge",
        "GITHUB_HEAD_REF": pull.head_ref,
        "GITHUB_BASE_REF": pull.base_ref,
        "GITHUB_WORKFLOW": report_key,
        COMMENT_ON: f"pr/{pull.number}",
    }


def refusal_reply(user: str, body: str, refusal: Refusal) -> str:
    first = shown(body.strip().split()[0] if body.strip() else "", 20)
    return f"@{user} `{first}` refused: {refusal}. Nothing was run."


def result_reply(
    user: str,
    command: Command,
    sha: str,
    returncode: int,
    gate: str | None,
    report_url: str | None,
    logs_url: str | None,
) -> str:
    """The one reply after a run: what ran where, the gate's verdict (``gate``: its check run's
    conclusion, None without one), and where to read more."""
    if returncode == 0:
        outcome = "finished, and the model gate passed"
    elif gate == "failure":
        outcome = "finished, and the model gate refused the model"
    else:
        outcome = f"failed before a verdict (exit code {returncode})"
    lines = [f"@{user} `{command}` ran at `{sha[:12]}`: {outcome}."]
    if report_url:
        lines.append(f"The report: {report_url}")
    if logs_url:
        lines.append(f"The logs: {logs_url}")
    return "\n\n".join(lines)
