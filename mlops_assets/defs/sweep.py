"""A sweep in one Dagster run: ``trained_model`` as a graph of ops, the trials fanned out.

Only when a sweep is declared (``sweep:`` in params.yaml, or ``mlops-assets run --sweep``,
read when the code location loads): otherwise ``trained_model`` is the plain asset, with the
same steps and fingerprints as ever. The graph:

    sweep_plan ──DynamicOut──► sweep_trial[0], sweep_trial[1], ... ──collect──► sweep_choose

``sweep_plan`` checks the sweep and opens the run's MLflow run (the parent, holding the grid);
each ``sweep_trial`` is a step of its own, seeded from its index, tracked as a child run and
scored on the validation rows; ``sweep_choose`` keeps the best and hands it on as
``trained_model``, so ``metrics_report`` evaluates only the winner on the held-out rows and the
gate, the baseline, the registry and the champion treat it as any model.

The trials run in parallel on the multiprocess executor (``project_held_executor``), which holds
the project's lock for the whole run in the process that launches the steps.
"""

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from dagster import (
    ConfigMapping,
    DynamicOut,
    DynamicOutput,
    Executor,
    ExecutorDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    graph_asset,
    multiprocess_executor,
    op,
)

from mlops_assets import run_tags
from mlops_assets.artifacts.atomic import write_atomic, write_text_atomic
from mlops_assets.artifacts.layout import LABELS_FILE, MODEL_FILE
from mlops_assets.defs.assets.trained_model import each_epoch, epoch_logger
from mlops_assets.defs.config import PARAMS, TrainConfig
from mlops_assets.defs.resources.artifacts import ArtifactStore
from mlops_assets.defs.resources.run_guard import RunGuard
from mlops_assets.defs.resources.tracking import MlflowTracking
from mlops_assets.modeling.builder import source_hash
from mlops_assets.params import TrainParams, flat
from mlops_assets.records import FeatureSet, SweepOutcome, TrainedModel, TrialResult
from mlops_assets.report.metrics import VALIDATION
from mlops_assets.report.trials import trials_section
from mlops_assets.settings import project_dir, sweep_arguments
from mlops_assets.sweeps import SweepPlan, Trial, declared, plan_trials
from mlops_assets.tracking.child_runs import SWEEP_OF, TRIAL

SWEEP = declared(
    PARAMS.sweep, sweep_arguments()
)  # ParamsError (exit 2 from the CLI) names the key at fault
SWEEP_PLAN: SweepPlan | None = (
    plan_trials(SWEEP, PARAMS.train, PARAMS.data.task) if SWEEP is not None else None
)
TRIALS_DIR = "trials"  # in the run's directory: trials/<index>/model.keras


@dataclass(frozen=True)
class TrialTask:
    """What one ``sweep_trial`` step needs: its trial, the whole ``train:`` it trains with, the
    metric it is scored on and the MLflow run it nests under."""

    trial: Trial
    hyperparameters: dict
    metric: str
    parent_run_id: str


@op(out=DynamicOut(TrialTask))
def sweep_plan(
    context: OpExecutionContext,
    config: TrainConfig,
    features: FeatureSet,
    tracking: MlflowTracking,
):
    """One output per trial; the parent MLflow run gets the grid as params."""
    base = TrainParams(**config.model_dump())
    source_hash(base.model, project_dir())  # a bad train.model fails here, before any trial
    plan = plan_trials(SWEEP, base, features.task)
    with tracking.run(context) as mlf:
        mlf.log_params(plan.as_params())
        mlf.set_tags(
            {run_tags.DATA_HASH: features.data_hash, run_tags.DATA_SOURCE: features.data_source}
        )
        parent = mlf.active_run().info.run_id
    context.log.info(
        f"sweep: {len(plan.trials)} trials, up to {plan.parallel} at once, chosen on "
        f"validation {plan.metric}"
    )
    for trial in plan.trials:
        hp = trial.hyperparameters(base).model_dump()
        yield DynamicOutput(TrialTask(trial, hp, plan.metric, parent), mapping_key=str(trial.index))


@op
def sweep_trial(
    context: OpExecutionContext,
    task: TrialTask,
    features: FeatureSet,
    artifacts: ArtifactStore,
    tracking: MlflowTracking,
) -> TrialResult:
    """Train one trial, seeded from its index, as a child MLflow run; score it on the
    validation rows."""
    from mlops_assets.modeling.trials import train_trial

    hp = TrainParams(**task.hyperparameters)
    index = task.trial.index
    seed = task.trial.seed(features.seed)
    path = artifacts.store.run_dir(context.run_id) / TRIALS_DIR / str(index) / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    params = {
        **features.params,
        **flat("train", hp.model_dump()),
        "sweep.trial": str(index),
        "sweep.seed": str(seed),
    }
    tags = {SWEEP_OF: context.run_id, TRIAL: str(index), run_tags.DATA_HASH: features.data_hash}
    context.log.info(f"trial {index}: {task.trial.label} (seed {seed})")
    with tracking.child_run(task.parent_run_id, f"trial-{index}", params, tags) as child:
        with child.curves() as curves:
            result = train_trial(
                features,
                hp,
                index=index,
                values=task.trial.values,
                seed=seed,
                metric=task.metric,
                model_path=path,
                on_epoch=each_epoch(epoch_logger(context, hp.epochs), curves),
                project=project_dir(),
            )
        child.log_metrics(
            {
                f"best_{VALIDATION}{task.metric}": result.value,
                "epochs_run": result.epochs_run,
                "seconds": result.seconds,
            }
        )
    context.log.info(
        f"trial {index}: validation {task.metric} = {result.value:.4g} "
        f"after {result.epochs_run} epochs, {result.seconds:.1f} s"
    )
    return replace(result, mlflow_run_id=child.run_id)


def _copy(source: Path, destination: Path) -> Path:
    return write_atomic(destination, lambda partial: shutil.copyfile(source, partial))


@op
def sweep_choose(
    context: OpExecutionContext,
    trials: list[TrialResult],
    features: FeatureSet,
    artifacts: ArtifactStore,
    tracking: MlflowTracking,
) -> Output[TrainedModel]:
    """The best trial on the validation metric becomes this run's model: copied to the run's
    ``model.keras`` and logged to the parent MLflow run with its params and curves."""
    from mlops_assets.modeling.trials import choose

    winner = choose(trials)
    hp = TrainParams(**winner.hyperparameters)
    run_dir = artifacts.store.run_dir(context.run_id)
    path = _copy(Path(winner.model_path), run_dir / MODEL_FILE)
    if features.classes:
        write_text_atomic(run_dir / LABELS_FILE, json.dumps(features.classes) + "\n")
    run_params = {**features.params, **flat("train", hp.model_dump())}
    with tracking.run(context) as mlf:
        mlf.log_params(run_params)
        mlf.set_tags(
            {
                run_tags.DATA_HASH: features.data_hash,
                run_tags.DATA_SOURCE: features.data_source,
                "mlops_assets/sweep_winner": str(winner.index),
                "mlops_assets/sweep_winner_run": winner.mlflow_run_id,
            }
        )
        mlf.log_metrics({f"best_{VALIDATION}{winner.metric}": winner.value})
        with tracking.epoch_metrics() as curves:  # the winner's curves, as a plain run has
            for epoch in range(winner.epochs_run):
                curves(epoch + 1, {k: v[epoch] for k, v in winner.history.items()})
        logged_as, model_uri = tracking.log_model(path, features.columns, features.task)
        parent = mlf.active_run().info.run_id
    outcome = SweepOutcome(
        metric=winner.metric,
        higher_is_better=_higher(winner.metric),
        trials=sorted(trials, key=lambda t: t.index),
        winner=winner.index,
        parent_run_id=parent,
    )
    values = ", ".join(f"{k}={v}" for k, v in winner.values.items())
    context.log.info(
        f"sweep winner: trial {winner.index} ({values}), "
        f"validation {winner.metric} = {winner.value:.4g}"
    )
    model_record = TrainedModel(
        path=str(path),
        history=winner.history,
        params=run_params,
        hyperparameters=hp.model_dump(),
        classes=features.classes,
        mlflow_run_id=parent,
        mlflow_model_uri=model_uri,
        sweep=outcome,
    )
    return Output(
        model_record,
        metadata={
            "trials": MetadataValue.md(trials_section(outcome)),
            "winner": winner.index,
            f"best_{VALIDATION}{winner.metric}": winner.value,
            "epochs_run": winner.epochs_run,
            "epochs_max": hp.epochs,
            "model_path": MetadataValue.path(str(path)),
            "model": hp.model or "built-in MLP",
            "mlflow_model": logged_as,
        },
    )


def _higher(metric: str) -> bool:
    from mlops_assets.report.metrics import higher_is_better

    return higher_is_better(metric)


def _plan_config(values: dict) -> dict:
    return {"sweep_plan": {"config": values}}


def build_sweep_model():
    """``trained_model`` as the sweep's graph; its run config is the plain asset's
    (``ops: {trained_model: {config: {...}}}``)."""

    @graph_asset(
        name="trained_model",
        group_name="retrain",
        kinds={"keras", "tensorflow"},
        config=ConfigMapping(config_fn=_plan_config, config_schema=TrainConfig.to_config_schema()),
        description="The winner of a sweep: trials trained in parallel, one step each, and "
        "chosen on the validation rows (see defs/sweep.py).",
    )
    def trained_model(features: FeatureSet) -> TrainedModel:
        tasks = sweep_plan(features)
        results = tasks.map(lambda task: sweep_trial(task, features))
        return sweep_choose(results.collect(), features)

    return trained_model


class ProjectHeldExecutor(Executor):
    """The multiprocess executor, holding the project's lock (``RunGuard.hold``) in the
    orchestrating process for the whole run, so the steps, each a process of its own, run
    under it as one run (``RunGuard`` sees the lock held for its run and waits for nothing)."""

    def __init__(self, inner: Executor, guard: RunGuard):
        self._inner = inner
        self._guard = guard

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        with self._guard.hold(plan_context.instance, plan_context.run_id, plan_context.log):
            yield from self._inner.execute(plan_context, execution_plan)


def project_held_executor(
    guard: RunGuard, parallel: int, inner: ExecutorDefinition = multiprocess_executor
) -> ExecutorDefinition:
    """``inner`` (steps in processes of their own, or placed by ``MLOPS_ASSETS_EXECUTOR``'s
    executor) under the project's lock; the multiprocess one runs ``parallel`` steps at once
    (``sweep.parallel``)."""

    def create(init_context) -> Executor:
        return ProjectHeldExecutor(inner.executor_creation_fn(init_context), guard)

    definition = ExecutorDefinition(
        name=f"{inner.name}_project_held",
        config_schema=inner.config_schema,
        requirements=inner.get_requirements,
        executor_creation_fn=create,
        description=f"{inner.name}, holding the project's lock for the whole run.",
    )
    if inner is multiprocess_executor:
        return definition.configured({"max_concurrent": parallel})
    return definition
