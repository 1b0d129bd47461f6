"""The text of each file ``init`` writes: the package's templates (``mlops_assets/templates``,
shipped in the wheel) with the inferred choices, each with a comment saying why, and the
install line of the workflows."""

import json
import re
from importlib.resources import files
from pathlib import Path

from mlops_assets import __version__
from mlops_assets.scaffold.inference import Inferred

WORKFLOWS = ("retrain.yml", "scheduled-retrain.yml", "rollback.yml")
WORKFLOW_DIR = Path(".github") / "workflows"
# Local run state: the embedded MLflow store, the Dagster instance, models, reports and the
# run storage (artifacts/), except the metrics and plots DVC compares between commits.
GITIGNORE = ["mlflow.db", "mlruns/", ".dagster_home/", "/artifacts/*"]
GITIGNORE_DVC = ["!/artifacts/dvc/", "dvc_plots/"]
EXTRA = "cpu"  # runners have no GPU: the CPU-only TensorFlow build


class TemplateError(ValueError):
    """A flag's value that cannot go into a file (an unpinned git URL, ...)."""


def template(name: str) -> str:
    """The template of ``name``; the ``.tmpl`` suffix keeps DVC and linters from reading
    ``templates/dvc.yaml`` and its placeholders as this repository's own files."""
    return files("mlops_assets").joinpath("templates", f"{name}.tmpl").read_text(encoding="utf-8")


def fill(text: str, **values: str) -> str:
    """``@NAME@`` markers replaced; a marker left over is a bug of ours, not a silent gap."""
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    if leftover := re.findall(r"@[A-Z_]+@", text):
        raise RuntimeError(f"template markers not filled: {sorted(set(leftover))}")
    return text


def package_spec(from_git: str | None = None, from_path: str | None = None) -> str:
    """What the workflows install: this release from the index, a git URL pinned to a tag or
    commit, or a path (a wheel or a source tree) in the checkout or on the runner."""
    if from_git:
        url = from_git if from_git.startswith("git+") else f"git+{from_git}"
        path = url.split("://", 1)[-1]
        if "@" not in path.split("/", 1)[-1]:
            raise TemplateError(
                f"--from-git {from_git}: pin it to a tag or commit, e.g. {from_git}@v{__version__}"
            )
        return f"mlops-assets[{EXTRA}] @ {url}"
    if from_path:
        return f"{from_path}[{EXTRA}]"
    return f"mlops-assets[{EXTRA}]=={__version__}"


def _yaml(value) -> str:
    """A scalar or a flow list as YAML (JSON is YAML), names quoted when they need it."""
    return json.dumps(value, ensure_ascii=False)


def _line(text: str, comment: str = "", width: int = 33) -> str:
    return f"{text:<{width - 1}} # {comment}" if comment else text


def data_section(data_path: str, target: str, inferred: Inferred) -> str:
    binary = inferred.task == "binary_classification"
    if inferred.task == "regression":
        why = f"inferred: {inferred.distinct} distinct numbers"
    else:
        shown = ", ".join(inferred.labels[:6]) + (", ..." if len(inferred.labels) > 6 else "")
        why = f"inferred: {len(inferred.labels)} labels ({shown})"
    positive = (
        f"binary: the positive label; null = the last in sorted order ({inferred.labels[-1]})"
        if binary
        else "binary_classification only"
    )
    lines = [
        "data:",
        _line(f"  path: {_yaml(data_path)}", "the CSV, relative to this file"),
        _line(f"  target: {_yaml(target)}", "the column to predict; every other is a feature"),
        _line(f"  task: {inferred.task}", why),
        _line("", "(2 labels: binary_classification; 3 to 50: multiclass_classification;"),
        _line("", " otherwise regression)"),
        _line("  positive_class: null", positive),
        _line("  columns:", "kinds inferred from the CSV: move a column to change its kind"),
        _line(f"    categorical: {_yaml(inferred.categorical)}", "text, and integer codes"),
        _line(f"    numeric: {_yaml(inferred.numeric)}", "numbers"),
        _line(f"    drop: {_yaml(sorted(inferred.dropped))}", "not features"),
    ]
    for name, why_dropped in inferred.dropped.items():
        lines.append(_line("", f"{name}: {why_dropped}".split(". Drop it")[0]))
    lines += [
        _line("  na_values: []", 'missing-value markers besides empty cells and NA, e.g. ["?"]'),
        _line("  max_missing_fraction: 0.3", "a feature missing more often fails a data check"),
        _line("  test_fraction: 0.2", "held-out share, split with the seed below"),
        "  seed: 42",
    ]
    return "\n".join(line.rstrip() for line in lines)


def watch_paths(data_path: str, dvc: bool) -> list[str]:
    paths = ["data/*", data_path, "params.yaml"]
    if dvc:
        paths += ["dvc.yaml", "dvc.lock", "*.dvc"]
    return list(dict.fromkeys(paths))


def params_yaml(data_path: str, target: str, inferred: Inferred, dvc: bool) -> str:
    return fill(
        template("params.yaml"),
        VERSION=__version__,
        DATA_PATH=data_path,
        DATA_SECTION=data_section(data_path, target, inferred),
        WATCH_PATHS="\n".join(f"    - {_yaml(p)}" for p in watch_paths(data_path, dvc)),
    )


def workflow(name: str, package: str) -> str:
    steps = fill(template("setup-steps.yml"), PACKAGE=package)
    return fill(template(name), VERSION=__version__, SETUP_STEPS=steps.rstrip("\n") + "\n")


def dvc_yaml() -> str:
    return fill(template("dvc.yaml"), VERSION=__version__)


def gitignore(current: str, dvc: bool) -> str:
    """``current`` with the entries it lacks appended: an entry already there is not repeated,
    so a second init changes nothing."""
    present = {line.strip() for line in current.splitlines()}
    wanted = [e for e in GITIGNORE + (GITIGNORE_DVC if dvc else []) if e not in present]
    if not wanted:
        return current
    head = current if not current or current.endswith("\n") else current + "\n"
    return head + "# mlops-assets: local run state\n" + "".join(f"{e}\n" for e in wanted)
