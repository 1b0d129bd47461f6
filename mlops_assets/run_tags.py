"""Tag names, one prefix for all: on Dagster runs (set by sensors, schedules, the launchpad) and
on MLflow runs (set by the tracking). MLflow's own ``mlflow.source.git.*`` names are kept where
they exist, so its UI shows commit and branch in their usual places."""

PREFIX = "mlops_assets/"

# Dagster run tags.
TRIGGER = f"{PREFIX}trigger"  # git, github_pr or schedule
COMMIT = f"{PREFIX}commit"
BRANCH = f"{PREFIX}branch"  # deploy/dagster.yaml limits concurrent runs per value
PREVIOUS_COMMIT = f"{PREFIX}previous_commit"
CHANGED_PATHS = f"{PREFIX}changed_paths"
PR_NUMBER = f"{PREFIX}pr_number"  # the pull request pr_comment posts to
SCHEDULED_TIME = f"{PREFIX}scheduled_time"
FORCE = f"{PREFIX}force"  # "1": recompute every asset of the run
PROJECT_DIR = f"{PREFIX}project_dir"  # the project the code location was loaded for

# MLflow run tags.
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
GIT_DIRTY = f"{PREFIX}git_dirty"
CI_RUN_URL = f"{PREFIX}ci_run_url"
DATA_HASH = f"{PREFIX}data_hash"
DATA_SOURCE = f"{PREFIX}data_source"
GATE = f"{PREFIX}gate"  # passed or failed
FAILED_ASSET = f"{PREFIX}failed_asset"
PROCESS = f"{PREFIX}process"  # host:pid of the process executing the run
ABANDONED = f"{PREFIX}abandoned"  # "1": marked failed by a later run, its process being gone
