"""Plays a GitHub Actions job locally, as a runner would: the real `run:` steps, in order.

It writes the event payload, sets the ``GITHUB_*`` variables and files (``GITHUB_ENV``,
``GITHUB_PATH``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_OUTPUT``), evaluates the ``${{ }}`` expressions
of ``env:``, ``with:`` and ``if:``, and runs each ``run:` step with bash in a fresh clone.
``uses:`` steps are replaced by local equivalents (``LOCAL_ACTIONS``): checkout is a clone of the
source repository at the event's commit, setup-python a virtualenv that reuses the test
environment's installed packages (no network), setup-uv a ``uv`` that hands its work to that
pip, cache a directory shared between plays, upload-artifact a copy. An action without a local
equivalent is an error, not a silent skip. A local composite action
(``uses: ./.github/actions/...``, read from the checkout) is played step by step, its
``inputs`` context the step's ``with:`` over the action's defaults.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STEP_TIMEOUT_SECONDS = 900


# ---- expressions: the subset of GitHub's expression language that workflows here use ----

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>&&|\|\||==|!=|!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\*\])*))"
)


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot parse expression at {expression[position:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return left == right


class _Evaluator:
    def __init__(self, expression: str, contexts: dict[str, Any], status: str):
        self.tokens = _tokens(expression)
        self.position = 0
        self.contexts = contexts
        self.status = status  # "success" or "failure" of the job so far

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def run(self) -> Any:
        value = self.either()
        if self.position != len(self.tokens):
            raise ValueError(f"unexpected {self.peek()!r}")
        return value

    def either(self) -> Any:
        value = self.both()
        while self.peek() == "||":
            self.take()
            other = self.both()
            value = value if _truthy(value) else other
        return value

    def both(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            other = self.compare()
            value = other if _truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()[1]
            equal = _equal(value, self.unary())
            return equal if op == "==" else not equal
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.either()
            self.take()
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == "(":
            return self.call(text)
        value: Any = self.contexts
        for part in text.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def call(self, name: str) -> Any:
        self.take()
        args = []
        while self.peek() != ")":
            args.append(self.either())
            if self.peek() == ",":
                self.take()
        self.take()
        functions = {
            "always": lambda: True,
            "success": lambda: self.status == "success",
            "failure": lambda: self.status == "failure",
            "cancelled": lambda: False,
            "contains": lambda hay, needle: str(needle).lower() in str(hay).lower(),
            "startsWith": lambda s, p: str(s).lower().startswith(str(p).lower()),
        }
        if name not in functions:
            raise ValueError(f"expression function {name}() is not supported by the player")
        return functions[name](*args)


def evaluate(expression: str, contexts: dict[str, Any], status: str = "success") -> Any:
    return _Evaluator(expression, contexts, status).run()


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def substitute(value: Any, contexts: dict[str, Any]) -> str:
    """``value`` with every ``${{ expr }}`` replaced by its text, as the runner does."""
    return re.sub(
        r"\$\{\{(.*?)\}\}", lambda m: _as_text(evaluate(m.group(1), contexts)), _as_text(value)
    )


# ---- the runner ----


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    log: str = ""
    seconds: float = 0.0


@dataclass
class PlayResult:
    workspace: Path
    uploads: Path
    summary: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return all(step.outcome != "failure" for step in self.steps)

    def failure_log(self) -> str:
        return "\n".join(
            f"--- {s.name}: {s.outcome} ({s.seconds:.1f}s)\n{s.log[-4000:]}" for s in self.steps
        )


@dataclass
class Event:
    """What GitHub would deliver: the event name, its payload, the commit and ref it is about."""

    name: str
    payload: dict
    sha: str
    ref: str
    head_ref: str = ""
    base_ref: str = ""


@dataclass
class _Job:
    """What the steps of one play share: the workspace, the job's environment (which actions
    change for the steps after them), the runner's files, the results and the post steps."""

    workspace: Path
    env: dict[str, str]
    files: dict[str, Path]
    event: Event
    result: PlayResult
    post_steps: list = field(default_factory=list)


class WorkflowPlayer:
    """Plays one job of ``workflow`` for ``event`` against a clone of ``source``.

    ``cache_dir`` and ``tool_dir`` persist between plays (the runner's cache service and its
    tool cache); ``api_url`` is the GitHub REST API the steps are told to use.
    """

    def __init__(
        self,
        workflow: Path,
        source: Path,
        cache_dir: Path,
        tool_dir: Path,
        *,
        repository: str = "octo/model",
        api_url: str = "https://api.github.com",
        secrets: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
    ):
        self.workflow = yaml.safe_load(workflow.read_text())
        self.source = source
        self.cache_dir = cache_dir
        self.tool_dir = tool_dir
        self.repository = repository
        self.api_url = api_url
        self.secrets = secrets or {}
        self.variables = variables or {}
        self.plays = 0

    def play(self, job_name: str, event: Event, root: Path) -> PlayResult:
        self.plays += 1
        root.mkdir(parents=True, exist_ok=True)
        workspace, temp = root / "workspace", root / "runner_temp"
        temp.mkdir(exist_ok=True)
        files = {
            name: temp / f"{name.lower()}.txt"
            for name in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
        }
        for path in files.values():
            path.touch()
        event_path = temp / "event.json"
        event_path.write_text(json.dumps(event.payload))
        run_id = str(1000 + self.plays)
        ref_name = re.sub(r"^refs/(heads|tags|pull)/", "", event.ref)
        github = {
            "event_name": event.name,
            "event": event.payload,
            "sha": event.sha,
            "ref": event.ref,
            "ref_name": ref_name,
            "ref_type": "tag" if event.ref.startswith("refs/tags/") else "branch",
            "head_ref": event.head_ref,
            "base_ref": event.base_ref,
            "repository": self.repository,
            "repository_owner": self.repository.split("/")[0],
            "workspace": str(workspace),
            "run_id": run_id,
            "run_number": str(self.plays),
            "run_attempt": "1",
            "actor": "octocat",
            "api_url": self.api_url,
            "server_url": "https://github.com",
            "job": job_name,
            "workflow": self.workflow.get("name", ""),
        }
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(root)),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(temp),
            "GITHUB_EVENT_PATH": str(event_path),
            **{f"GITHUB_{k.upper()}": v for k, v in github.items() if isinstance(v, str)},
            **{name: str(path) for name, path in files.items()},
        }
        contexts: dict[str, Any] = {
            "github": github,
            "secrets": {"GITHUB_TOKEN": "", **self.secrets},
            "vars": self.variables,
            "inputs": event.payload.get("inputs", {}),
            "runner": {"os": "Linux", "temp": str(temp)},
            "env": env,
        }
        job = self.workflow["jobs"][job_name]
        for scope in (self.workflow.get("env", {}), job.get("env", {})):
            env.update({k: substitute(v, contexts) for k, v in scope.items()})

        result = PlayResult(workspace, root / "uploads", summary="")
        played = _Job(workspace, env, files, event, result)
        for number, step in enumerate(job["steps"], 1):
            self._play_step(step, f"step {number}", contexts, played)
        for post in played.post_steps:
            post(result.succeeded)
        result.summary = files["GITHUB_STEP_SUMMARY"].read_text()
        return result

    def _play_step(
        self, step: dict, default_name: str, contexts: dict, job: _Job, outer_env=None, prefix=""
    ) -> None:
        """One step: skipped by its ``if:``, a local composite action's steps, an action's local
        equivalent, or a ``run:`` script. ``outer_env`` is the ``env:`` of the step that used the
        composite action this step belongs to."""
        result = job.result
        name = prefix + (step.get("name") or step.get("uses") or default_name)
        status = "success" if result.succeeded else "failure"
        if not _truthy(evaluate(_strip(step.get("if", "success()")), contexts, status)):
            result.steps.append(StepResult(name, "skipped"))
            return
        step_env = {
            **(outer_env or {}),
            **{k: substitute(v, contexts) for k, v in step.get("env", {}).items()},
        }
        uses = step.get("uses", "")
        if uses.startswith("./"):
            self._play_composite(step, name, contexts, job, step_env)
            return
        started = time.monotonic()
        if uses:
            action = uses.split("@")[0]
            inputs = {k: substitute(v, contexts) for k, v in step.get("with", {}).items()}
            # An action's changes to the environment (PATH, ...) last for the whole job.
            outcome, log, post = LOCAL_ACTIONS[action](
                self, inputs, job.workspace, job.env, job.event
            )
            if post:
                job.post_steps.append(post)
        else:
            outcome, log = self._run(
                substitute(step["run"], contexts), job.workspace, {**job.env, **step_env}, step
            )
        result.steps.append(StepResult(name, outcome, log, time.monotonic() - started))
        outputs = _apply_runner_files(job.files, job.env)
        if step.get("id"):  # `steps.<id>.outputs.<name>` for the steps after this one
            contexts.setdefault("steps", {})[step["id"]] = {"outputs": outputs, "outcome": outcome}

    def _play_composite(self, step: dict, name: str, contexts: dict, job: _Job, step_env) -> None:
        """A local composite action's steps, in order, as the runner expands them: its
        ``inputs`` context is the step's ``with:`` over the action's defaults."""
        action = load_local_action(job.workspace, step["uses"])
        given = {k: substitute(v, contexts) for k, v in step.get("with", {}).items()}
        inner = {**contexts, "inputs": action_inputs(action, given, step["uses"], contexts)}
        for number, inner_step in enumerate(action["runs"]["steps"], 1):
            self._play_step(inner_step, f"step {number}", inner, job, step_env, f"{name} / ")

    def _run(self, script: str, workspace: Path, env: dict, step: dict) -> tuple[str, str]:
        cwd = workspace / step.get("working-directory", ".")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_SECONDS,
            check=False,
        )
        return ("success" if done.returncode == 0 else "failure"), done.stdout + done.stderr

    # ---- local equivalents of actions ----

    def checkout(self, inputs, workspace, env, event):
        """A clone of the source repository at the event's commit (or ``ref``), with the depth
        asked for; a second checkout in the same job moves the clone to ``ref`` and removes
        untracked files, as the action does (``clean: true``).

        For a pull request that is the PR's head commit: GitHub checks out a merge commit of
        head and base (``refs/pull/N/merge``), which a plain local repository does not have.
        """
        ref = inputs.get("ref") or event.sha
        if (workspace / ".git").is_dir():
            for args in (["fetch", "--quiet", "origin"], ["checkout", "--quiet", "--detach", ref]):
                done = subprocess.run(
                    ["git", "-C", str(workspace), *args], capture_output=True, text=True
                )
                if done.returncode != 0:
                    return "failure", done.stderr, None
            subprocess.run(["git", "-C", str(workspace), "clean", "-ffdxq"], check=True)
            return "success", f"checked out {ref}", None
        depth = int(inputs.get("fetch-depth") or 1)
        args = ["git", "clone", "--quiet", "--no-checkout"]
        if depth:
            args += ["--no-local", "--depth", str(depth), "--branch", _branch_of(event)]
        done = subprocess.run(
            [*args, f"file://{self.source}", str(workspace)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            done = subprocess.run(
                ["git", "-C", str(workspace), "checkout", "--quiet", "--detach", ref],
                capture_output=True,
                text=True,
                check=False,
            )
        return ("success" if done.returncode == 0 else "failure"), done.stderr, None

    def setup_python(self, inputs, workspace, env, event):
        """A virtualenv that sees this interpreter's installed packages (pip included, so the
        venv needs none of its own); pip stays offline and installs into the virtualenv."""
        venv = self.tool_dir / "python"
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
            site = next((venv / "lib").glob("python3*/site-packages"))
            (site / "_shared_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
        env["PIP_NO_INDEX"] = "1"  # everything the project needs is already installed
        env["PIP_FIND_LINKS"] = str(_tensorflow_builds(self.tool_dir / "wheels"))
        env["PIP_NO_BUILD_ISOLATION"] = "0"  # pip's inverted spelling of --no-build-isolation
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        return "success", f"python {venv}", None

    def setup_uv(self, inputs, workspace, env, event):
        """A stand-in ``uv`` on PATH that hands ``uv pip ...`` to the offline pip above: the real
        uv installs into an environment's own site-packages only, so it would fetch every
        dependency the shared packages provide. ``--system`` (and ``UV_SYSTEM_PYTHON``) mean
        the Python on PATH, which pip installs into anyway; the cache has nothing to keep."""
        shim = self.tool_dir / "uv-stand-in"
        shim.mkdir(parents=True, exist_ok=True)
        uv = shim / "uv"
        uv.write_text(UV_STAND_IN)
        uv.chmod(0o755)
        env["PATH"] = f"{shim}{os.pathsep}{env['PATH']}"
        return "success", f"uv stand-in {uv}", None

    def cache(self, inputs, workspace, env, event):
        """Restore the newest entry matching the key or a restore-key prefix; save after the job."""
        paths = [p.strip() for p in inputs["path"].splitlines() if p.strip()]
        key = inputs["key"]
        prefixes = [p.strip() for p in inputs.get("restore-keys", "").splitlines() if p.strip()]
        hit = self.cache_dir / key
        if not hit.is_dir():
            hit = None
            for prefix in prefixes:
                found = sorted(
                    (p for p in self.cache_dir.glob("*") if p.name.startswith(prefix)),
                    key=lambda p: p.stat().st_mtime,
                )
                if found:
                    hit = found[-1]
                    break
        if hit:
            shutil.copytree(hit, workspace, symlinks=True, dirs_exist_ok=True)

        def save(job_succeeded: bool) -> None:
            target = self.cache_dir / key
            if job_succeeded and not target.exists():
                for path in paths:
                    source = workspace / path
                    if source.is_dir():
                        shutil.copytree(source, target / path, symlinks=True)
                    elif source.exists():  # a file, such as the embedded MLflow store
                        (target / path).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, target / path)

        return "success", f"cache {'restored from ' + hit.name if hit else 'miss'}", save

    def upload_artifact(self, inputs, workspace, env, event):
        """Copies the files (following links, as the action does) under uploads/<name>/."""
        target = workspace.parent / "uploads" / inputs.get("name", "artifact")
        found = []
        for path in (p.strip() for p in inputs["path"].splitlines() if p.strip()):
            source = workspace / path
            if source.is_dir():
                shutil.copytree(source, target / path.rstrip("/"), dirs_exist_ok=True)
                found.append(path)
            elif source.exists():
                (target / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / path)
                found.append(path)
        if not found and inputs.get("if-no-files-found", "warn") == "error":
            return "failure", "no files found", None
        return "success", f"uploaded {found}", None


def _tensorflow_builds(directory: Path) -> Path:
    """Stand-ins for the TensorFlow build the test environment lacks, for the offline pip.

    The workflows install the project's ``cpu`` extra (``tensorflow-cpu``); the test environment
    may have the ``tensorflow`` build instead, which provides the same ``tensorflow`` modules at
    the same version. A wheel holding only the other distribution's metadata at that version
    lets pip satisfy the extra while the shared modules do the work.
    """
    import zipfile
    from importlib.metadata import PackageNotFoundError, version

    directory.mkdir(parents=True, exist_ok=True)
    builds = {}
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            builds[name] = version(name)
        except PackageNotFoundError:
            pass
    if not builds:
        return directory
    installed = next(iter(builds.values()))
    for name in {"tensorflow", "tensorflow-cpu"} - set(builds):
        stem = f"{name.replace('-', '_')}-{installed}"
        info = f"{stem}.dist-info"
        files = {
            f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {installed}\n"
            "Summary: a stand-in: the test environment's other TensorFlow build provides it\n",
            f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: workflow_player\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n",
        }
        files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
        with zipfile.ZipFile(directory / f"{stem}-py3-none-any.whl", "w") as wheel:
            for path, text in files.items():
                wheel.writestr(path, text)
    return directory


UV_STAND_IN = """#!/usr/bin/env bash
# The workflow player's stand-in for uv: `uv pip <command> ...` through the offline pip.
set -e
[ "$1" = pip ] || { echo "uv stand-in: only 'uv pip' is played, not 'uv $1'" >&2; exit 2; }
shift
args=()
for arg in "$@"; do [ "$arg" = --system ] || args+=("$arg"); done
exec python -m pip "${args[@]}"
"""

LOCAL_ACTIONS = {
    "actions/checkout": WorkflowPlayer.checkout,
    "actions/setup-python": WorkflowPlayer.setup_python,
    "astral-sh/setup-uv": WorkflowPlayer.setup_uv,
    "actions/cache": WorkflowPlayer.cache,
    "actions/upload-artifact": WorkflowPlayer.upload_artifact,
}


def load_local_action(root: Path, uses: str) -> dict:
    """The composite action ``uses: ./<path>`` names, read from ``root`` (the checkout)."""
    directory = root / uses.removeprefix("./")
    found = [
        directory / name for name in ("action.yml", "action.yaml") if (directory / name).is_file()
    ]
    if not found:
        raise ValueError(f"{uses}: no action.yml in {directory} (is the repository checked out?)")
    action = yaml.safe_load(found[0].read_text())
    if action.get("runs", {}).get("using") != "composite":
        raise ValueError(f"{uses}: the player plays composite actions only")
    return action


def action_inputs(action: dict, given: dict[str, str], uses: str, contexts: dict) -> dict:
    """The ``inputs`` context of a composite action: ``given`` (a step's ``with:``) over the
    declared defaults. An undeclared or a missing required input is an error (GitHub only warns
    about the first; a typo would otherwise pass silently)."""
    declared = action.get("inputs") or {}
    if unknown := sorted(set(given) - set(declared)):
        raise ValueError(f"{uses} declares no input {', '.join(unknown)}")
    inputs = {}
    for name, spec in declared.items():
        if name in given:
            inputs[name] = given[name]
        elif "default" in spec:
            inputs[name] = substitute(spec["default"], contexts)
        elif spec.get("required"):
            raise ValueError(f"{uses} needs the input {name}")
        else:
            inputs[name] = ""
    return inputs


def expanded_steps(steps: list[dict], root: Path) -> list[dict]:
    """``steps`` with each local composite action replaced by its own steps, for checks that
    read the workflow's steps without playing them."""
    expanded = []
    for step in steps:
        if step.get("uses", "").startswith("./"):
            expanded += expanded_steps(load_local_action(root, step["uses"])["runs"]["steps"], root)
        else:
            expanded.append(step)
    return expanded


def _strip(condition: Any) -> str:
    text = _as_text(condition).strip()
    return text[3:-2] if text.startswith("${{") and text.endswith("}}") else text


def _branch_of(event: Event) -> str:
    return event.head_ref or event.ref.removeprefix("refs/heads/")


def _read_assignments(path: Path) -> dict[str, str]:
    """``name=value`` and ``name<<DELIMITER`` blocks, as steps write to the runner's files."""
    found = {}
    lines = path.read_text().splitlines()
    while lines:
        line = lines.pop(0)
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            value = []
            while lines and lines[0] != delimiter:
                value.append(lines.pop(0))
            lines = lines[1:]
            found[name] = "\n".join(value)
        elif "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
    path.write_text("")
    return found


def _apply_runner_files(files: dict[str, Path], env: dict[str, str]) -> dict[str, str]:
    """What steps wrote to ``GITHUB_ENV`` and ``GITHUB_PATH`` applies to the following steps;
    returns what the step wrote to ``GITHUB_OUTPUT`` (its outputs)."""
    env.update(_read_assignments(files["GITHUB_ENV"]))
    for directory in files["GITHUB_PATH"].read_text().splitlines():
        env["PATH"] = f"{directory}{os.pathsep}{env['PATH']}"
    files["GITHUB_PATH"].write_text("")
    return _read_assignments(files["GITHUB_OUTPUT"])
