"""Where a run's steps execute, chosen when the code location loads (``MLOPS_ASSETS_EXECUTOR``):
in the run's own process (the default: one MLflow run, TensorFlow imported once), or placed
beyond one machine by Dagster's ``k8s_job_executor`` (dagster-k8s: a Kubernetes Job per step)
or ``celery_executor`` (dagster-celery: a task per step on a Celery worker).

Their settings (namespace, pod resources, broker, queues) are run config under ``execution:``,
as Dagster documents them; ``deploy/executors/`` holds examples the tests validate against
this code location. The integrations are imported only when chosen, so the default load stays
light and needs neither installed.
"""

from mlops_assets import settings


def executor_from_env(default, env=None):
    """``default`` unless ``MLOPS_ASSETS_EXECUTOR`` names ``k8s`` or ``celery``."""
    name = settings.executor(env)
    try:
        if name == "k8s":
            from dagster_k8s import k8s_job_executor

            return k8s_job_executor
        if name == "celery":
            from dagster_celery import celery_executor

            return celery_executor
    except ImportError as error:
        raise settings.SettingError(
            f"{settings.EXECUTOR}={name} needs {error.name}: pip install 'mlops-assets[executors]'"
        ) from None
    return default
