"""``init`` decides everything before it writes anything: the repository, the data and its
target, the install line and the files; a file already there stops it (named) unless
``force``. What it writes loads: params.yaml is validated as a run validates it."""

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

import mlops_assets.scaffold.files as files
from mlops_assets.data.errors import DatasetError
from mlops_assets.params import PARAMS_FILE, Params
from mlops_assets.scaffold.inference import infer


class InitError(ValueError):
    """A user's mistake found by ``init`` (no git repository, a file in the way, a missing
    flag): one line, exit code 2, nothing written."""


@dataclass(frozen=True)
class InitOptions:
    data: str | None = None
    target: str | None = None
    dvc: bool = False
    force: bool = False
    from_git: str | None = None
    from_path: str | None = None


def git_root(start: Path) -> Path:
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=start,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise InitError(
            f"{start} is not in a git repository: mlops-assets init adds the pipeline to an "
            "existing one (git init first)"
        )
    return Path(done.stdout.strip()).resolve()


def _relative_data(data: str, cwd: Path, root: Path) -> tuple[Path, str]:
    path = (cwd / data).resolve()
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        raise InitError(
            f"{data}: outside the repository {root}; the pipeline reads data from it"
        ) from None
    return path, relative


def _asked(value: str | None, flag: str, question: str, ask: Callable[[str], str] | None) -> str:
    if value:
        return value
    if ask is None:
        raise InitError(f"{flag} is required (stdin is not a terminal to ask for it)")
    answer = ask(question).strip()
    if not answer:
        raise InitError(f"{flag} is required")
    return answer


def plan(options: InitOptions, cwd: Path, ask: Callable[[str], str] | None) -> dict[Path, str]:
    """Every file to write (path -> text), decided and validated, nothing written yet."""
    root = git_root(cwd)
    data = _asked(options.data, "--data", "CSV to learn from (path): ", ask)
    csv, data_path = _relative_data(data, cwd, root)
    if not csv.is_file():
        raise InitError(f"{data}: no such file")
    target = _asked(options.target, "--target", f"column of {data} to predict: ", ask)
    if options.from_path and not Path(options.from_path).is_absolute():
        if not (root / options.from_path).exists():  # the workflows install it from the checkout
            raise InitError(f"--from-path {options.from_path}: not in the repository {root}")
    try:
        package = files.package_spec(options.from_git, options.from_path)
        inferred = infer(csv, target)
    except (files.TemplateError, DatasetError) as error:
        raise InitError(str(error)) from None
    params = files.params_yaml(data_path, target, inferred, options.dvc)
    try:  # what init writes is what a run loads
        Params.model_validate(yaml.safe_load(params))
    except Exception as error:
        raise RuntimeError(f"init wrote an invalid {PARAMS_FILE}: {error}") from error
    planned = {root / PARAMS_FILE: params}
    for name in files.WORKFLOWS:
        planned[root / files.WORKFLOW_DIR / name] = files.workflow(name, package)
    if options.dvc:
        planned[root / "dvc.yaml"] = files.dvc_yaml()
    if not options.force:
        for path in planned:
            if path.exists():
                raise InitError(
                    f"{path.relative_to(root)} exists: not overwritten, nothing written "
                    "(--force overwrites)"
                )
    ignore = root / ".gitignore"
    current = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    if (merged := files.gitignore(current, options.dvc)) != current:
        planned[ignore] = merged
    return planned


def next_commands(written: list[Path], root: Path) -> list[str]:
    added = " ".join(sorted(str(p.relative_to(root)) for p in written))
    return [
        "mlops-assets run                 # train, evaluate and report here (artifacts/)",
        f"git add {added}",
        'git commit -m "Retrain with mlops-assets" && git push   # the retrain workflow runs',
    ]


def init_project(
    options: InitOptions, cwd: Path | None = None, ask: Callable[[str], str] | None = None
) -> tuple[list[Path], list[str]]:
    """Write the files; returns them and the next three commands. ``ask`` prompts for a
    missing ``--data``/``--target`` (None: they are required)."""
    cwd = (cwd or Path.cwd()).resolve()
    planned = plan(options, cwd, ask)
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    written = list(planned)
    return written, next_commands(written, git_root(cwd))
