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
from pathlib import Path

from mlops_assets import chatops_command, prelaunch, run_tags, settings
from mlops_assets.artifacts.lock import exclusive
from mlops_assets.data.errors import DatasetError
from mlops_assets.params import ParamsError
from mlops_assets.settings import ProjectNotFound


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlops-assets", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialise every asset of the retrain graph")
    run.add_argument("--config-json", default="", help="Dagster run config, e.g. fewer epochs")
    run.add_argument("--force", action="store_true", help="recompute every asset")
    run.add_argument(
        "--verbose", action="store_true", help="Dagster's full event log; errors' tracebacks"
    )
    chatops = commands.add_parser(
        "chatops", help="/retrain or /sweep from a pull-request comment (GITHUB_EVENT_PATH)"
    )
    chatops_command.add_arguments(chatops)
    return parser.parse_args(argv)


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
USER_ERRORS = (ParamsError, DatasetError, ProjectNotFound)


def user_error(error: Exception, verbose: bool) -> int:
    if verbose:
        traceback.print_exception(error)
    print(f"mlops-assets: {error}".replace("\n", " "), file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "chatops":  # chatops_command.py: the comment's checks, then a run
        return chatops_command.main(args)
    stop_on_sigterm()
    # MLflow's own INFO lines (creating the store's tables, ...) are not the run's news.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    verbose = args.verbose or settings.verbose()

    home = os.environ.get("DAGSTER_HOME")
    try:
        artifacts = settings.artifacts_dir()
        # Decided before Dagster is imported: a run that would change nothing is not launched.
        state = None
        if home and not args.config_json.strip():
            state = prelaunch.project_state(settings.project_dir(), artifacts, os.environ)
            forced = args.force or settings.forced()
            if not forced and (last := prelaunch.unchanged_since(artifacts, state)) is not None:
                report_unchanged(last)
                return 0

        from dagster import DagsterInstance

        from mlops_assets.definitions import defs  # reads params.yaml: ParamsError
        from mlops_assets.defs.jobs import RETRAIN_JOB
    except USER_ERRORS as error:
        return user_error(error, verbose)

    if home:
        ensure_instance_dir(Path(home))
        with exclusive(Path(home) / INSTANCE_LOCK):  # a new home's tables are created once
            instance = DagsterInstance.get()
    else:
        print("DAGSTER_HOME is unset: this run's history is not kept", file=sys.stderr)
        instance = DagsterInstance.ephemeral()
    tags = {run_tags.FORCE: "1"} if args.force else {}
    result = defs.resolve_job_def(RETRAIN_JOB).execute_in_process(
        run_config=run_config(args.config_json, verbose),
        instance=instance,
        tags=tags,
        raise_on_error=False,
    )
    summary = print_summary(result, defs)
    if result.success and state is not None:
        prelaunch.save(artifacts, state, result.run_id, summary)
    elif home:
        prelaunch.forget(artifacts)
    return 0 if result.success else 1


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
        browse=browse_commands(report.mlflow_run_url, tracking_uri),
    )
    print("\n" + "\n".join(lines))
    return lines


if __name__ == "__main__":
    sys.exit(main())
