"""``mlops-assets run``: the whole retrain graph from the command line, with a run log a person
reads and a summary at the end. What ``make run`` and the GitHub Actions workflow call.

It launches the ``retrain`` job in this process on the instance in ``$DAGSTER_HOME`` (so the
run shows in the UI, and skip-unchanged works across runs), with the compact console logger
unless ``--verbose`` (or ``MLOPS_ASSETS_VERBOSE=1``) asks for Dagster's full event log.
Exit code 0 when the run succeeded, 1 when it failed (a refused model included), 2 for a
user's mistake found before the run (no project here, a bad ``params.yaml``, a bad flag), said
in one line.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import traceback
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from mlops_assets import __version__, chatops_command, prelaunch, run_tags, settings
from mlops_assets.artifacts.lock import exclusive
from mlops_assets.artifacts.outputs import RunOutputs
from mlops_assets.data.errors import DatasetError
from mlops_assets.params import ParamsError
from mlops_assets.scoring import ScoringError
from mlops_assets.settings import ProjectNotFound, SettingError


class OneLineParser(argparse.ArgumentParser):
    """A bad flag is a user's mistake: one line naming it, exit code 2 (not the usage block)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="mlops-assets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"mlops-assets {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_init_command(commands)
    run = commands.add_parser("run", help="materialise every asset of the retrain graph")
    run.add_argument("--config-json", default="", help="Dagster run config, e.g. fewer epochs")
    run.add_argument("--force", action="store_true", help="recompute every asset")
    run.add_argument(
        "--verbose", action="store_true", help="Dagster's full event log; errors' tracebacks"
    )
    run.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="try these values of a train.* parameter in this run, e.g. "
        "train.learning_rate=0.002,0.005 (repeatable; see docs/sweeps.md)",
    )
    predict = commands.add_parser(
        "predict", help="score a CSV with the champion (or latest, or a registered version)"
    )
    predict.add_argument("csv", type=Path, help="rows with the model's input columns")
    predict.add_argument(
        "--model",
        default="",
        metavar="champion|latest|VERSION",
        help="default: the registry's champion, else artifacts/latest",
    )
    predict.add_argument(
        "--out", default="", help="default: <csv stem>.predictions.csv beside it; - for stdout"
    )
    predict.add_argument("--chunk-rows", type=int, default=100_000, help="rows read at a time")
    predict.add_argument("--verbose", action="store_true", help="errors' tracebacks")
    chatops = commands.add_parser(
        "chatops", help="/retrain or /sweep from a pull-request comment (GITHUB_EVENT_PATH)"
    )
    chatops_command.add_arguments(chatops)
    return parser.parse_args(argv)


def add_init_command(commands) -> None:
    init = commands.add_parser(
        "init", help="add the pipeline to this git repository: params.yaml, the workflows"
    )
    init.add_argument("--data", help="the CSV to learn from (asked for on a terminal)")
    init.add_argument("--target", help="the column to predict (asked for on a terminal)")
    init.add_argument("--dvc", action="store_true", help="also write dvc.yaml")
    init.add_argument("--force", action="store_true", help="overwrite files already there")
    source = init.add_mutually_exclusive_group()
    source.add_argument(
        "--from-git", metavar="URL@REF", help="the workflows install this pinned git URL"
    )
    source.add_argument(
        "--from-path", metavar="PATH", help="the workflows install this wheel or source tree"
    )
    init.add_argument("--verbose", action="store_true", help="errors' tracebacks")


def init_command(args: argparse.Namespace) -> int:
    from mlops_assets.scaffold import InitError, InitOptions, init_project

    options = InitOptions(
        data=args.data,
        target=args.target,
        dvc=args.dvc,
        force=args.force,
        from_git=args.from_git,
        from_path=args.from_path,
    )
    try:
        written, commands = init_project(options, ask=input if sys.stdin.isatty() else None)
    except InitError as error:
        return user_error(error, args.verbose)
    cwd = Path.cwd().resolve()
    for path in written:
        print(f"wrote {os.path.relpath(path, cwd)}")
    print("\nnext:\n" + "\n".join(f"  {command}" for command in commands))
    return 0


def run_config(config_json: str, verbose: bool) -> dict:
    try:
        config = json.loads(config_json) if config_json.strip() else {}
    except json.JSONDecodeError as error:
        raise SystemExit(f"mlops-assets: --config-json is not JSON: {error}") from None
    if not isinstance(config, dict):
        raise SystemExit("mlops-assets: --config-json must be a JSON object")
    if not verbose:
        config.setdefault("loggers", {"console": {}})  # defs/console.py
    return config


def ensure_instance_dir(home: Path) -> None:
    """``$DAGSTER_HOME`` with a ``dagster.yaml`` (Dagster's defaults, telemetry included), so a
    first run on a fresh checkout or CI runner needs no setup and gets no notice about it."""
    home.mkdir(parents=True, exist_ok=True)
    settings_file = home / "dagster.yaml"
    if not settings_file.exists():
        settings_file.write_text(INSTANCE_SETTINGS, encoding="utf-8")


INSTANCE_LOCK = ".mlops-assets.lock"  # held while the instance is opened

INSTANCE_SETTINGS = """\
# Dagster instance settings (https://docs.dagster.io/deployment/oss/dagster-yaml). Empty: the
# defaults. Dagster's usage statistics are on by default; to turn them off:
# telemetry:
#   enabled: false
"""


def stop_on_sigterm() -> None:
    """SIGTERM (a CI job cancelled, ``kill``, a container stopped) stops the run the way Ctrl-C
    does: Dagster ends it CANCELED or FAILED and the tracking ends its MLflow run, instead of
    the process vanishing with both left running."""
    signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(os.getpid(), signal.SIGINT))


# A user's mistake, said in one line naming the file and key (exit 2); anything else is a bug
# of ours and keeps its traceback.
USER_ERRORS = (ParamsError, DatasetError, ProjectNotFound, ScoringError, SettingError)


def user_error(error: Exception, verbose: bool) -> int:
    if verbose:
        traceback.print_exception(error)
    print(f"mlops-assets: {error}".replace("\n", " "), file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "init":
        return init_command(args)
    if args.command == "chatops":  # chatops_command.py: the comment's checks, then a run
        return chatops_command.main(args)
    stop_on_sigterm()
    # MLflow's own INFO lines (creating the store's tables, ...) are not the run's news.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    verbose = args.verbose or settings.verbose()
    if args.command == "predict":
        from mlops_assets.scoring.command import main as predict

        try:
            return predict(args.csv, args.model, args.out, args.chunk_rows)
        except USER_ERRORS as error:
            return user_error(error, verbose)

    home = os.environ.get("DAGSTER_HOME")
    if args.sweep:  # read by the code location when it loads, in this and every step process
        os.environ.update(settings.sweep_environment(args.sweep))
    try:
        artifacts = settings.artifacts_dir()
        # Decided before Dagster is imported: a run that would change nothing is not launched.
        state = None
        if home and not args.config_json.strip() and not args.sweep:
            state = prelaunch.project_state(settings.project_dir(), artifacts, os.environ)
            forced = args.force or settings.forced()
            if not forced and (last := prelaunch.unchanged_since(artifacts, state)) is not None:
                report_unchanged(last)
                return 0

        from mlops_assets.definitions import SWEEP_PLAN, defs  # reads params.yaml: ParamsError
        from mlops_assets.defs.jobs import RETRAIN_JOB
    except USER_ERRORS as error:
        return user_error(error, verbose)
    with ExitStack() as stack:
        instance = open_instance(home, stack, persistent=SWEEP_PLAN is not None)
        tags = {run_tags.FORCE: "1"} if args.force else {}
        config = run_config(args.config_json, verbose)
        if SWEEP_PLAN is None:
            result = defs.resolve_job_def(RETRAIN_JOB).execute_in_process(
                run_config=config, instance=instance, tags=tags, raise_on_error=False
            )
            outputs = result
        else:  # the trials are processes of their own: execute_job on a reconstructable job
            from dagster import execute_job, reconstructable

            from mlops_assets.definitions import retrain_job

            trials, parallel = len(SWEEP_PLAN.trials), SWEEP_PLAN.parallel
            print(f"sweep: {trials} trials, up to {parallel} at once", file=sys.stderr)
            result = stack.enter_context(
                execute_job(
                    reconstructable(retrain_job),
                    instance=instance,
                    run_config=config,
                    tags=tags,
                    raise_on_error=False,
                )
            )
            # Its outputs as the run stored them (the result would load them anew).
            storage = Path(defs.resources["run_guard"].storage_dir)
            outputs = StoredOutputs(result.run_id, RunOutputs(storage))
        summary = print_summary(outputs, defs)
    if result.success and state is not None:
        prelaunch.save(artifacts, state, result.run_id, summary)
    elif home:
        prelaunch.forget(artifacts)
    return 0 if result.success else 1


def open_instance(home: str | None, stack: ExitStack, persistent: bool):
    """``$DAGSTER_HOME``'s instance, else a throwaway one (on disk when ``persistent``: step
    processes must find it)."""
    from dagster import DagsterInstance

    if home:
        ensure_instance_dir(Path(home))
        with exclusive(Path(home) / INSTANCE_LOCK):  # a new home's tables are created once
            return stack.enter_context(DagsterInstance.get())
    print("DAGSTER_HOME is unset: this run's history is not kept", file=sys.stderr)
    if persistent:
        return stack.enter_context(DagsterInstance.local_temp())
    return DagsterInstance.ephemeral()


@dataclass(frozen=True)
class StoredOutputs:
    """A finished run's asset outputs as its stored files hold them: what ``print_summary``
    reads of a result."""

    run_id: str
    outputs: RunOutputs

    def output_for_node(self, node: str):
        return self.outputs.read(self.run_id, node)


def report_unchanged(last) -> None:
    """Say why nothing was launched, repeat the last run's summary, and record the decision
    on ``metrics_report`` in the background (the UI shows it; this command does not wait)."""
    print(
        f"nothing changed since run {last.run_id} (data, parameters, code, commit, settings): "
        "no run launched; --force runs anyway"
    )
    print("\n".join(last.summary))
    subprocess.Popen(
        [sys.executable, "-m", "mlops_assets.defs.unchanged", last.run_id],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _output(result, node: str):
    try:
        return result.output_for_node(node)
    except Exception:  # noqa: BLE001 - the step failed or did not run: nothing to summarise
        return None


def has_make_dev() -> bool:
    """Whether the project's Makefile has a ``dev`` target (this checkout's does; a repository
    that adopted the package with ``mlops-assets init`` may have no Makefile)."""
    makefile = settings.project_dir() / "Makefile"
    if not makefile.is_file():
        return False
    return any(line.startswith("dev:") for line in makefile.read_text().splitlines())


def print_summary(result, defs) -> list[str]:
    """Print the run's summary; returns its lines."""
    from mlops_assets.report.summary import browse_commands, run_summary

    report = _output(result, "metrics_report")
    if report is None:
        print(f"\nrun {result.run_id} failed before the report; see the errors above")
        return []
    artifacts = defs.resources["artifacts"].store
    comment = _output(result, "pr_comment")
    tracking_uri = defs.resources["tracking"].location().uri
    lines = run_summary(
        report,
        _output(result, "model_version"),
        latest=artifacts.latest,
        comment_path=artifacts.comment_path,
        comment_url=comment if comment and comment.startswith("http") else None,
        browse=browse_commands(report.mlflow_run_url, tracking_uri, has_make_dev()),
    )
    print("\n" + "\n".join(lines))
    return lines


if __name__ == "__main__":
    sys.exit(main())
